#include "simulations/report_html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "simulations/svg_chart.h"

namespace cartable::simulations {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The y coordinates of a chart's first path, in order.
std::vector<double> PathYs(const std::string& svg) {
  const std::smatch path = [&] {
    std::smatch m;
    std::regex_search(svg, m, std::regex("<path d=\"([^\"]*)\""));
    return m;
  }();
  std::vector<double> ys;
  const std::string d = path[1];
  const std::regex point("[ML](-?[0-9.]+) (-?[0-9.]+)");
  for (auto it = std::sregex_iterator(d.begin(), d.end(), point); it != std::sregex_iterator();
       ++it) {
    ys.push_back(std::stod((*it)[2]));
  }
  return ys;
}

nlohmann::json SmallReport() {
  return nlohmann::json::parse(R"({
    "federated": {"auc": 0.81234, "accuracy": 0.75, "log_loss": 0.5, "rmse": 0.4, "answers": 900},
    "centralized": {"auc": 0.82, "accuracy": 0.76, "log_loss": 0.49, "rmse": 0.39, "answers": 900},
    "local_only": {"auc": 0.7, "per_school": [
      {"school": "<b>École & Co</b>", "auc": 0.66}, {"school": "b", "auc": 0.74},
      {"school": "c", "auc": 0.71}]},
    "oracle": null,
    "rounds": [
      {"round": 1, "asked": 3, "nodes": 3, "auc": 0.70, "log_loss": 0.62, "train_loss": 0.66},
      {"round": 2, "asked": 3, "nodes": 2, "auc": null, "log_loss": null, "train_loss": 0.58},
      {"round": 3, "asked": 3, "nodes": 3, "auc": 0.81, "log_loss": 0.50, "train_loss": 0.52}],
    "participation": {"schools": 3, "never_joined": 0, "asked": 9, "answered": 8,
                      "dropped_by_reason": {"late": 1}},
    "fairness": {"min_group_pupils": 10, "rows": [
      {"attribute": "gender", "value": "F", "suppressed": false, "pupils": 40, "answers": 400,
       "auc": 0.8, "auc_bound": 0.0001, "calibration_error": 0.02, "true_positive_rate": 0.7,
       "flag_rate": 0.3},
      {"attribute": "gender", "value": "<script>alert(1)</script>", "suppressed": true}],
      "gaps": [{"attribute": "gender", "equal_opportunity": null, "demographic_parity": null}]},
    "config": {"model": "logistic", "schools": 3, "rounds": 3, "mode": "inproc",
               "data": {"source": "oulad:data/oulad", "partition": "by:region"}}
  })");
}

TEST(ReportHtmlTest, IsOneSelfContainedPageWithItsPlotsAndTables) {
  const std::string html = ReportHtml(SmallReport());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(Count(html, "<svg"), 4u) << "AUC, loss, participation, schools alone";
  // Nothing to fetch, nothing to run.
  for (const char* outside : {"<script", "http:", "https:", "src=", "url(", "<link", "@import"})
    EXPECT_THAT(html, Not(HasSubstr(outside))) << outside;
  EXPECT_THAT(html, HasSubstr("cartable simulation: logistic, 3 schools"));
  EXPECT_THAT(html, HasSubstr("<td>federated</td><td>0.8123</td>"));
  EXPECT_THAT(html, HasSubstr("<td>centralised (pooled data)</td><td>0.8200</td>"));
  EXPECT_THAT(html, HasSubstr("dropped late: 1"));
  // The fairness table: a shown row with its figures, a suppressed row with none.
  EXPECT_THAT(html, HasSubstr("<td>gender</td><td>F</td><td>40</td><td>400</td><td>0.8000</td>"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;</td><td>suppressed</td>"));
  EXPECT_THAT(html, HasSubstr("oulad:data/oulad"));
}

TEST(ReportHtmlTest, LeavesOutWhatTheReportDoesNotHold) {
  nlohmann::json report = SmallReport();
  report["fairness"] = nullptr;
  report["rounds"] = nlohmann::json::array();
  const std::string html = ReportHtml(report);
  EXPECT_THAT(html, Not(HasSubstr("Fairness")));
  EXPECT_THAT(html, HasSubstr("no data"));  // the per-round charts, without rounds
  EXPECT_EQ(Count(html, "<svg"), 4u);
  EXPECT_THAT(ReportHtml(nlohmann::json::object()), HasSubstr("<h1>cartable simulation</h1>"));
  EXPECT_THAT(html, Not(HasSubstr("The run failed")));

  report["outcome"] = {{"state", "failed"},
                       {"reason", "round 1: 9 survivor(s) confirmed <the> set"},
                       {"rounds_completed", 0}};
  report["federated"] = nullptr;
  EXPECT_THAT(ReportHtml(report),
              HasSubstr("The run failed</strong> after 0 completed round(s): round 1: 9 "
                        "survivor(s) confirmed &lt;the&gt; set"));
  EXPECT_THAT(ReportHtml(report), HasSubstr("No model to compare"));
}

TEST(SvgChartTest, AHigherValueIsDrawnHigherAndAMissingOneLeavesAGap) {
  const std::string svg =
      LineChart({"t", "round", "AUC"}, {{"federated", "#123456", {{1, 0.5}, {2, 0.9}}, false}});
  const std::vector<double> ys = PathYs(svg);
  ASSERT_EQ(ys.size(), 2u) << svg;
  EXPECT_LT(ys[1], ys[0]) << "SVG's y grows downwards";

  const std::string gap = LineChart(
      {"t", "round", "AUC"}, {{"f", "#123456", {{1, 0.5}, {2, std::nullopt}, {3, 0.9}}, false}});
  EXPECT_EQ(Count(gap, " M") + Count(gap, "\"M"), 2u) << gap;
  EXPECT_EQ(Count(gap, "<circle"), 2u) << gap;
}

TEST(SvgChartTest, HugeValuesCloseTogetherEndWithAFewTicks) {
  // A step too small to move such values must not loop: each chart ends, with few ticks.
  const std::string y =
      LineChart({"t", "x", "y"}, {{"s", "#123456", {{1, 1e20}, {2, 1e20 + 16384}}}});
  const std::string x = LineChart({"t", "x", "y"}, {{"s", "#123456", {{1e16, 1}, {1e16 + 2, 2}}}});
  EXPECT_LE(Count(y, "<line"), 25u);
  EXPECT_LE(Count(x, "<text"), 50u);
  nlohmann::json report = SmallReport();
  report["local_only"]["per_school"][0]["auc"] = 1e9;  // no school's AUC is that: left out
  const std::string html = ReportHtml(report);
  EXPECT_THAT(html, HasSubstr("Schools trained alone"));
}

TEST(SvgChartTest, EveryTextIsEscaped) {
  const std::string svg =
      BarChart({"<t>", "x&y", "\"y\""}, {{"<stack>", "red\"/><script>"}}, {{"<a>", {1}}});
  EXPECT_THAT(svg, Not(HasSubstr("<script")));
  EXPECT_THAT(svg, Not(HasSubstr("<t>")));
  EXPECT_THAT(svg, Not(HasSubstr("<a>")));
  EXPECT_THAT(svg, HasSubstr("&lt;stack&gt;"));
  EXPECT_THAT(svg, HasSubstr("x&amp;y"));
  EXPECT_EQ(HtmlEscaped("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

}  // namespace
}  // namespace cartable::simulations
