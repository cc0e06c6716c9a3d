#include "simulations/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "simulations/svg_chart.h"

namespace cartable::simulations {
namespace {

using nlohmann::json;

constexpr const char* kFederated = "#1b6ca8";
constexpr const char* kCentralised = "#2e8b57";
constexpr const char* kLocal = "#c0392b";
constexpr const char* kTraining = "#8e6c8a";
constexpr const char* kAnswered = "#7fb3d5";
constexpr const char* kDropped = "#e67e22";

// The value at `key` of `object`, null when `object` is not an object or lacks it.
const json& At(const json& object, const char* key) {
  static const json kNone;
  if (!object.is_object()) return kNone;
  auto it = object.find(key);
  return it == object.end() ? kNone : *it;
}

// `value` when it is an array, else an empty one.
const json& Items(const json& value) {
  static const json kEmpty = json::array();
  return value.is_array() ? value : kEmpty;
}

// A fairness row shows figures only when it says it is not suppressed.
bool Suppressed(const json& row) {
  const json& s = At(row, "suppressed");
  return !s.is_boolean() || s.get<bool>();
}

// The number at `key` of `object`, if there is one.
std::optional<double> NumberAt(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string Fixed(std::optional<double> v, int decimals = 4) {
  if (!v || !std::isfinite(*v)) return "–";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, *v);
  return text;
}

std::string Text(const json& v) {
  if (v.is_string()) return HtmlEscaped(v.get<std::string>());
  if (v.is_null()) return "–";
  return HtmlEscaped(v.dump());
}

std::string Row(const std::vector<std::string>& cells, const char* tag = "td") {
  std::string row = "<tr>";
  for (const std::string& c : cells) row += std::string("<") + tag + ">" + c + "</" + tag + ">";
  return row + "</tr>";
}

std::string Figure(const std::string& svg, const std::string& caption) {
  return "<figure>" + svg + "<figcaption>" + caption + "</figcaption></figure>";
}

std::string Settings(const json& config) {
  std::string html = "<table class=\"settings\">";
  for (const char* key : {"model", "schools", "rounds", "local_epochs", "data", "cohort", "mode",
                          "transport", "secure_aggregation", "strategy", "strategy_options", "seed",
                          "pupil_dp", "establishment_dp"}) {
    if (config.contains(key) && !config[key].is_null())
      html += Row({HtmlEscaped(key), Text(config[key])});
  }
  return html + "</table>";
}

std::string ScoreTable(const json& report) {
  if (!At(report, "federated").is_object())
    return "<p>No model to compare: the federated run did not end.</p>";
  std::string html =
      "<table>" + Row({"model", "AUC", "accuracy", "log-loss", "RMSE", "answers"}, "th");
  const auto line = [&](const char* name, const json& s) {
    if (!s.is_object()) return;
    html += Row({name, Fixed(NumberAt(s, "auc")), Fixed(NumberAt(s, "accuracy")),
                 Fixed(NumberAt(s, "log_loss")), Fixed(NumberAt(s, "rmse")),
                 Fixed(NumberAt(s, "answers"), 0)});
  };
  line("federated", At(report, "federated"));
  line("centralised (pooled data)", At(report, "centralized"));
  if (const json& local = At(report, "local_only"); local.is_object()) {
    html +=
        Row({"local only (mean over schools)", Fixed(NumberAt(local, "auc")), "–", "–", "–", "–"});
  }
  line("oracle (true abilities)", At(report, "oracle"));
  return html + "</table>";
}

// Held-out AUC and log-loss per round, against the baselines.
std::string RoundCurves(const json& report) {
  ChartSeries auc{"federated", kFederated, {}, false};
  ChartSeries loss{"federated, held out", kFederated, {}, false};
  ChartSeries train{"training loss at the nodes", kTraining, {}, true};
  for (const json& r : Items(At(report, "rounds"))) {
    const double round = NumberAt(r, "round").value_or(0);
    auc.points.emplace_back(round, NumberAt(r, "auc"));
    loss.points.emplace_back(round, NumberAt(r, "log_loss"));
    train.points.emplace_back(round, NumberAt(r, "train_loss"));
  }
  std::vector<ChartLevel> auc_levels, loss_levels;
  if (auto c = NumberAt(At(report, "centralized"), "auc"))
    auc_levels.push_back({"centralised", kCentralised, *c});
  if (auto l = NumberAt(At(report, "local_only"), "auc"))
    auc_levels.push_back({"local only (mean)", kLocal, *l});
  if (auto c = NumberAt(At(report, "centralized"), "log_loss"))
    loss_levels.push_back({"centralised, held out", kCentralised, *c});
  return Figure(LineChart({"Held-out AUC per round", "round", "AUC"}, {auc}, auc_levels),
                "The federation's AUC on every school's held-out pupils, from securely summed "
                "statistics, after each round; the centralised model (trained on the pooled "
                "data for as many passes) and the mean of the schools trained alone are the "
                "baselines.") +
         Figure(LineChart({"Loss per round", "round", "log-loss"}, {loss, train}, loss_levels),
                "Held-out log-loss of the federated model after each round, and the mean "
                "training loss the nodes reported.");
}

// Answered and dropped schools in each round.
std::string ParticipationChart(const json& report) {
  std::vector<ChartBar> bars;
  for (const json& r : Items(At(report, "rounds"))) {
    const double asked = NumberAt(r, "asked").value_or(0);
    const double answered = NumberAt(r, "nodes").value_or(0);
    bars.push_back({Fixed(NumberAt(r, "round"), 0), {answered, std::max(asked - answered, 0.0)}});
  }
  std::string caption =
      "Schools whose update entered each round's sum, and those asked that "
      "did not.";
  const json& who = At(report, "participation");
  if (who.is_object()) {
    caption += " Over the run: " + Fixed(NumberAt(who, "schools"), 0) + " schools, " +
               Fixed(NumberAt(who, "never_joined"), 0) + " never joined, " +
               Fixed(NumberAt(who, "answered"), 0) + " answers to " +
               Fixed(NumberAt(who, "asked"), 0) + " requests";
    const json& reasons = At(who, "dropped_by_reason");
    for (auto it = reasons.begin(); reasons.is_object() && it != reasons.end(); ++it) {
      caption += "; dropped " + HtmlEscaped(it.key()) + ": " + Text(it.value());
    }
    caption += ".";
  }
  if (const json& dropout = At(At(report, "faults"), "dropout"); dropout.is_object()) {
    caption += " Dropouts injected: " + std::to_string(Items(At(dropout, "injected")).size()) +
               " (rate " + Fixed(NumberAt(dropout, "rate"), 3) + ", stage " +
               Text(At(dropout, "stage")) + ").";
  }
  if (const json& byzantine = At(At(report, "faults"), "byzantine"); byzantine.is_object()) {
    caption += " Byzantine schools: " + std::to_string(Items(At(byzantine, "schools")).size()) +
               " (attack " + Text(At(byzantine, "attack")) + ", " +
               Fixed(NumberAt(byzantine, "tampered_updates"), 0) + " updates tampered with).";
  }
  if (const json& slow = At(At(report, "faults"), "stragglers"); slow.is_object()) {
    caption += " Stragglers injected: " + std::to_string(Items(At(slow, "injected")).size()) +
               " (rate " + Fixed(NumberAt(slow, "rate"), 3) + ", mean delay " +
               Fixed(NumberAt(slow, "mean_delay_s"), 1) + " s).";
  }
  if (const json& crashes = At(At(report, "faults"), "crashes"); crashes.is_object()) {
    caption += " Crashes injected: " + std::to_string(Items(At(crashes, "injected")).size()) +
               " (rate " + Fixed(NumberAt(crashes, "rate"), 3) + ", mean downtime " +
               Fixed(NumberAt(crashes, "mean_downtime_s"), 1) + " s).";
  }
  return Figure(BarChart({"Participation per round", "round", "schools"},
                         {{"answered", kAnswered}, {"asked, did not answer", kDropped}}, bars),
                caption);
}

// How the schools trained alone spread, in AUC intervals of 0.05.
std::string LocalSpread(const json& report) {
  std::vector<double> aucs;
  const json& local = At(report, "local_only");
  for (const json& s : Items(At(local, "per_school"))) {
    if (auto auc = NumberAt(s, "auc"); auc && *auc >= 0 && *auc <= 1) aucs.push_back(*auc);
  }
  std::vector<ChartBar> bars;
  if (!aucs.empty()) {
    const auto [lo, hi] = std::minmax_element(aucs.begin(), aucs.end());
    const int first = static_cast<int>(std::floor(*lo * 20 + 1e-9));
    const int last = std::max(first, static_cast<int>(std::floor(*hi * 20 + 1e-9)));
    std::vector<double> counts(static_cast<size_t>(last - first + 1), 0);
    for (double auc : aucs) {
      const int bin = std::clamp(static_cast<int>(std::floor(auc * 20 + 1e-9)), first, last);
      counts[static_cast<size_t>(bin - first)] += 1;
    }
    for (int b = first; b <= last; ++b)
      bars.push_back({Fixed(b / 20.0, 2), {counts[static_cast<size_t>(b - first)]}});
  }
  std::string caption =
      "Each school trained alone on its own pupils, scored on its own held-out "
      "pupils; a bar counts the schools whose AUC lies in [x, x + 0.05).";
  if (auto federated = NumberAt(At(report, "federated"), "auc")) {
    caption += " The federated model's AUC on all held-out pupils: " + Fixed(federated) + ".";
  }
  return Figure(BarChart({"Schools trained alone: AUC", "AUC of the school alone", "schools"},
                         {{"schools", kLocal}}, bars),
                caption);
}

std::string Fairness(const json& table) {
  if (!table.is_object()) return "";
  std::string html =
      "<h2>Fairness by subgroup (last round)</h2><p>Subgroups of fewer than " +
      Fixed(NumberAt(table, "min_group_pupils"), 0) +
      " pupils federation-wide, and those whose figures would reveal one, are suppressed.</p>"
      "<table>" +
      Row({"attribute", "value", "pupils", "answers", "AUC", "calibration error",
           "true-positive rate", "flag rate"},
          "th");
  for (const json& r : Items(At(table, "rows"))) {
    const std::string attribute = Text(At(r, "attribute"));
    const std::string value = Text(At(r, "value"));
    if (Suppressed(r)) {
      html += Row({attribute, value, "suppressed", "", "", "", "", ""});
      continue;
    }
    html +=
        Row({attribute, value, Fixed(NumberAt(r, "pupils"), 0), Fixed(NumberAt(r, "answers"), 0),
             Fixed(NumberAt(r, "auc")), Fixed(NumberAt(r, "calibration_error")),
             Fixed(NumberAt(r, "true_positive_rate")), Fixed(NumberAt(r, "flag_rate"))});
  }
  html += "</table><table>" +
          Row({"attribute", "equal-opportunity gap", "demographic-parity gap"}, "th");
  for (const json& g : Items(At(table, "gaps"))) {
    html += Row({Text(At(g, "attribute")), Fixed(NumberAt(g, "equal_opportunity")),
                 Fixed(NumberAt(g, "demographic_parity"))});
  }
  return html + "</table>";
}

constexpr const char* kStyle =
    "body{font-family:sans-serif;max-width:760px;margin:2em auto;color:#222;padding:0 1em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
    "table.settings td{text-align:left}"
    "figure{margin:1.5em 0}figcaption{font-size:0.9em;color:#555}"
    "p.failed{border-left:4px solid #c0392b;padding-left:8px}";

}  // namespace

std::string ReportHtml(const json& report) {
  const json& config = At(report, "config");
  std::string title = "cartable simulation";
  if (config.contains("model") && config["model"].is_string())
    title += ": " + config["model"].get<std::string>();
  if (auto schools = NumberAt(config, "schools")) title += ", " + Fixed(schools, 0) + " schools";
  std::string html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                     HtmlEscaped(title) + "</title><style>" + kStyle + "</style></head><body>";
  html += "<h1>" + HtmlEscaped(title) + "</h1>";
  html +=
      "<p>Every figure on this page is one of report.json's, written beside it by "
      "<code>cartable simulate</code>.</p>";
  if (const json& outcome = At(report, "outcome"); At(outcome, "state") == "failed") {
    html += "<p class=\"failed\"><strong>The run failed</strong> after " +
            Fixed(NumberAt(outcome, "rounds_completed"), 0) +
            " completed round(s): " + Text(At(outcome, "reason")) +
            ". The models were not compared; the rounds and who took part are below.</p>";
  }
  html += "<h2>Models on the held-out pupils</h2>" + ScoreTable(report);
  html += "<h2>Rounds</h2>" + RoundCurves(report) + ParticipationChart(report);
  html += "<h2>Schools alone</h2>" + LocalSpread(report);
  html += Fairness(At(report, "fairness"));
  html += "<h2>Settings</h2>" + Settings(config);
  return html + "</body></html>\n";
}

}  // namespace cartable::simulations
