#pragma once

// report.html: a simulation's report.json as one page a researcher opens in any browser, offline.
// Self-contained: inline SVG plots and inline style, no script, no font, image or link fetched from
// anywhere. It shows the federated model against the centralised and local-only baselines, the
// held-out AUC and loss per round, who took part and who dropped in each round, the spread of
// school-alone AUCs, and the fairness table when there is one. Every figure on it is one of
// report.json's; every text taken from the data (school names, subgroup values) is escaped.

#include <nlohmann/json.hpp>
#include <string>

namespace cartable::simulations {

// The page for `report`, laid out as RunScenario writes it (docs/simulation-guide.md). Keys it does
// not find are left out of the page, never guessed.
std::string ReportHtml(const nlohmann::json& report);

}  // namespace cartable::simulations
