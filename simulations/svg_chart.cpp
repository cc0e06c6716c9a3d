#include "simulations/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>

namespace cartable::simulations {
namespace {

constexpr double kWidth = 680, kHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 44, kBottom = 44;
constexpr double kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kHeight - kTop - kBottom;
constexpr int kMaxTicks = 20;  // a nice step gives about 5 to 10

// Appends each part to `out`, without the temporaries a chain of + makes.
void Put(std::string& out, std::initializer_list<std::string_view> parts) {
  for (std::string_view part : parts) out.append(part);
}

std::string Number(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// 1, 2 or 5 times a power of ten, at least `raw`.
double NiceStep(double raw) {
  if (!(raw > 0)) return 1;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

int DecimalsFor(double step) {
  return std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6);
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return lo > hi; }
};

// The y range widened to whole ticks, with a margin when every value is the same.
struct Scale {
  double lo, hi, step;
  static Scale Of(Range r, bool from_zero) {
    if (r.empty()) r = {0, 1};
    if (from_zero) r.lo = std::min(r.lo, 0.0);
    if (r.hi - r.lo < 1e-12) {
      const double pad = std::max(std::abs(r.hi) * 0.05, 0.01);
      if (!from_zero || r.lo < 0) r.lo -= pad;
      r.hi += pad;
    }
    const double step = NiceStep((r.hi - r.lo) / 5);
    return {std::floor(r.lo / step) * step, std::ceil(r.hi / step - 1e-9) * step, step};
  }
  double Y(double v) const { return kTop + kPlotHeight * (1 - (v - lo) / (hi - lo)); }
};

std::string Open(const ChartAxes& axes) {
  std::string svg = "<svg role=\"img\" viewBox=\"0 0 " + Number(kWidth, 0) + " " +
                    Number(kHeight, 0) + "\" width=\"" + Number(kWidth, 0) + "\" height=\"" +
                    Number(kHeight, 0) + "\" font-family=\"sans-serif\" font-size=\"12\">";
  svg += "<title>" + HtmlEscaped(axes.title) + "</title>";
  svg += "<rect x=\"0\" y=\"0\" width=\"" + Number(kWidth, 0) + "\" height=\"" +
         Number(kHeight, 0) + "\" fill=\"#ffffff\"/>";
  svg += "<text x=\"" + Number(kLeft, 0) + "\" y=\"16\" font-size=\"14\" font-weight=\"bold\">" +
         HtmlEscaped(axes.title) + "</text>";
  svg += "<text x=\"" + Number(kLeft + kPlotWidth / 2, 0) + "\" y=\"" + Number(kHeight - 6, 0) +
         "\" text-anchor=\"middle\">" + HtmlEscaped(axes.x_label) + "</text>";
  svg += "<text transform=\"translate(14 " + Number(kTop + kPlotHeight / 2, 0) +
         ") rotate(-90)\" text-anchor=\"middle\">" + HtmlEscaped(axes.y_label) + "</text>";
  return svg;
}

// Horizontal grid lines and their values.
std::string YAxis(const Scale& s) {
  std::string svg;
  const int decimals = DecimalsFor(s.step);
  // Counted, not accumulated: a step too small to move a huge value must not loop forever.
  for (int k = 0; k <= kMaxTicks; ++k) {
    const double v = s.lo + k * s.step;
    if (v > s.hi + s.step * 1e-6) break;
    const std::string y = Number(s.Y(v), 1);
    Put(svg, {"<line x1=\"", Number(kLeft, 0), "\" x2=\"", Number(kLeft + kPlotWidth, 0),
              "\" y1=\"", y, "\" y2=\"", y, "\" stroke=\"#dddddd\"/>"});
    svg += "<text x=\"" + Number(kLeft - 6, 0) + "\" y=\"" + y +
           "\" dy=\"4\" text-anchor=\"end\">" +
           Number(std::abs(v) < s.step * 1e-6 ? 0 : v, decimals) + "</text>";
  }
  svg += "<rect x=\"" + Number(kLeft, 0) + "\" y=\"" + Number(kTop, 0) + "\" width=\"" +
         Number(kPlotWidth, 0) + "\" height=\"" + Number(kPlotHeight, 0) +
         "\" fill=\"none\" stroke=\"#888888\"/>";
  return svg;
}

// A row of swatches and names above the plot.
std::string Legend(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string svg;
  double x = kLeft;
  for (const auto& [name, colour] : entries) {
    svg += "<rect x=\"" + Number(x, 0) + "\" y=\"26\" width=\"12\" height=\"4\" fill=\"" +
           HtmlEscaped(colour) + "\"/>";
    svg += "<text x=\"" + Number(x + 16, 0) + "\" y=\"32\">" + HtmlEscaped(name) + "</text>";
    x += 16 + 7.0 * static_cast<double>(name.size()) + 18;
  }
  return svg;
}

std::string NoData() {
  return "<text x=\"" + Number(kLeft + kPlotWidth / 2, 0) + "\" y=\"" +
         Number(kTop + kPlotHeight / 2, 0) + "\" text-anchor=\"middle\">no data</text>";
}

}  // namespace

std::string HtmlEscaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string LineChart(const ChartAxes& axes, const std::vector<ChartSeries>& series,
                      const std::vector<ChartLevel>& levels) {
  Range xs, ys;
  bool whole_x = true;
  for (const ChartSeries& s : series) {
    for (const auto& [x, y] : s.points) {
      if (!y || !std::isfinite(*y) || !std::isfinite(x)) continue;
      xs.Add(x);
      ys.Add(*y);
      whole_x = whole_x && x == std::floor(x);
    }
  }
  for (const ChartLevel& l : levels) ys.Add(l.y);
  std::string svg = Open(axes);
  if (ys.empty()) return svg + NoData() + "</svg>";
  if (xs.empty()) xs = {0, 1};
  if (xs.hi - xs.lo < 1e-12) {
    xs.lo -= 1;
    xs.hi += 1;
  }
  const Scale scale = Scale::Of(ys, false);
  svg += YAxis(scale);
  const auto x_of = [&](double x) { return kLeft + kPlotWidth * (x - xs.lo) / (xs.hi - xs.lo); };
  double x_step = NiceStep((xs.hi - xs.lo) / 8);
  if (whole_x) x_step = std::max(1.0, std::ceil(x_step));
  const double x_first = std::ceil(xs.lo / x_step) * x_step;
  for (int k = 0; k <= kMaxTicks; ++k) {
    const double x = x_first + k * x_step;
    if (x > xs.hi + 1e-9) break;
    svg += "<text x=\"" + Number(x_of(x), 1) + "\" y=\"" + Number(kTop + kPlotHeight + 16, 0) +
           "\" text-anchor=\"middle\">" + Number(x, whole_x ? 0 : DecimalsFor(x_step)) + "</text>";
  }
  std::vector<std::pair<std::string, std::string>> legend;
  for (const ChartLevel& l : levels) {
    if (!std::isfinite(l.y)) continue;
    const std::string y = Number(scale.Y(l.y), 1);
    Put(svg, {"<line x1=\"", Number(kLeft, 0), "\" x2=\"", Number(kLeft + kPlotWidth, 0),
              "\" y1=\"", y, "\" y2=\"", y, "\" stroke=\"", HtmlEscaped(l.colour),
              "\" stroke-width=\"2\" stroke-dasharray=\"8 4\"/>"});
    legend.emplace_back(l.name, l.colour);
  }
  for (const ChartSeries& s : series) {
    const std::string colour = HtmlEscaped(s.colour);
    std::string path, dots;
    bool pen_down = false;
    for (const auto& [x, y] : s.points) {
      if (!y || !std::isfinite(*y) || !std::isfinite(x)) {
        pen_down = false;
        continue;
      }
      const std::string px = Number(x_of(x), 1), py = Number(scale.Y(*y), 1);
      Put(path, {pen_down ? " L" : " M", px, " ", py});
      pen_down = true;
      Put(dots, {"<circle cx=\"", px, "\" cy=\"", py, "\" r=\"2.5\" fill=\"", colour, "\"/>"});
    }
    if (!path.empty()) {
      Put(svg,
          {"<path d=\"", std::string_view(path).substr(1), "\" fill=\"none\" stroke=\"", colour,
           "\" stroke-width=\"2\"", s.dashed ? " stroke-dasharray=\"3 3\"" : "", "/>", dots});
    }
    legend.emplace_back(s.name, s.colour);
  }
  return svg + Legend(legend) + "</svg>";
}

std::string BarChart(const ChartAxes& axes,
                     const std::vector<std::pair<std::string, std::string>>& stacks,
                     const std::vector<ChartBar>& bars) {
  Range totals;
  for (const ChartBar& bar : bars) {
    double total = 0;
    for (double v : bar.values) total += std::isfinite(v) ? std::max(v, 0.0) : 0;
    totals.Add(total);
  }
  std::string svg = Open(axes);
  if (bars.empty()) return svg + NoData() + "</svg>";
  const Scale scale = Scale::Of(totals, true);
  svg += YAxis(scale);
  const double band = kPlotWidth / static_cast<double>(bars.size());
  const size_t label_every = std::max<size_t>(1, (bars.size() + 19) / 20);
  for (size_t i = 0; i < bars.size(); ++i) {
    const double x = kLeft + band * (static_cast<double>(i) + 0.15);
    double base = 0;
    for (size_t k = 0; k < stacks.size() && k < bars[i].values.size(); ++k) {
      const double v = std::isfinite(bars[i].values[k]) ? std::max(bars[i].values[k], 0.0) : 0;
      if (v <= 0) continue;
      const double top = scale.Y(base + v), bottom = scale.Y(base);
      svg += "<rect x=\"" + Number(x, 1) + "\" y=\"" + Number(top, 1) + "\" width=\"" +
             Number(band * 0.7, 1) + "\" height=\"" + Number(bottom - top, 1) + "\" fill=\"" +
             HtmlEscaped(stacks[k].second) + "\"><title>" + HtmlEscaped(bars[i].label) + ": " +
             HtmlEscaped(stacks[k].first) + " " + Number(v, v == std::floor(v) ? 0 : 3) +
             "</title></rect>";
      base += v;
    }
    if (i % label_every == 0) {
      svg += "<text x=\"" + Number(x + band * 0.35, 1) + "\" y=\"" +
             Number(kTop + kPlotHeight + 16, 0) + "\" text-anchor=\"middle\">" +
             HtmlEscaped(bars[i].label) + "</text>";
    }
  }
  return svg + Legend(stacks) + "</svg>";
}

}  // namespace cartable::simulations
