#pragma once

// Small SVG charts for reports that must read anywhere: each chart is inline SVG text with no
// script, no style sheet and no reference to anything outside it, so a page holding it is one
// self-contained file. Every text a chart draws is escaped, so names that come from data (school
// names, subgroup values) cannot inject markup. Pure functions, thread safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cartable::simulations {

// `text` with &, <, >, " and ' written as entities, for HTML and SVG text and attributes.
std::string HtmlEscaped(std::string_view text);

struct ChartAxes {
  std::string title;    // read by screen readers (<title>) and shown above the plot
  std::string x_label;  // e.g. "round"
  std::string y_label;  // e.g. "AUC"
};

// A line through (x, y) points; a missing y leaves a gap.
struct ChartSeries {
  std::string name;
  std::string colour;  // an SVG colour, e.g. "#1b6ca8"
  std::vector<std::pair<double, std::optional<double>>> points;
  bool dashed = false;
};

// A horizontal line across the plot at y, named in the legend (e.g. a baseline).
struct ChartLevel {
  std::string name;
  std::string colour;
  double y = 0;
};

// A line chart; x ticks are whole numbers when every x is (rounds). The y range covers every point
// and level with a margin. With no point and no level at all, the chart says "no data".
std::string LineChart(const ChartAxes& axes, const std::vector<ChartSeries>& series,
                      const std::vector<ChartLevel>& levels = {});

// One bar per label, stacked from its values in the order of `stacks` (name, colour).
struct ChartBar {
  std::string label;
  std::vector<double> values;  // one per stack; missing ones count as 0
};
std::string BarChart(const ChartAxes& axes,
                     const std::vector<std::pair<std::string, std::string>>& stacks,
                     const std::vector<ChartBar>& bars);

}  // namespace cartable::simulations
