// A simulation's report.html opened in a real browser: Debian's headless Chromium renders it to a
// PNG, which is decoded and looked at. The plots are there when the page shows pixels of each
// series' own colour: the federated curve, the centralised and local-only baselines, the
// participation bars and the nodes' training loss. A page that failed to draw them (a broken SVG,
// an empty report) shows none.

#include <gtest/gtest.h>
#include <png.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "core/subprocess.h"
#include "process_helpers.h"

namespace cartable {
namespace {

const std::filesystem::path kOuladSubset =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "data" / "oulad";

struct Rgb {
  int r, g, b;
};

// Pixels of `image` (RGB rows) within a few levels of each colour, by name.
std::map<std::string, size_t> CountColours(const std::vector<uint8_t>& image,
                                           const std::map<std::string, Rgb>& colours) {
  std::map<std::string, size_t> counts;
  for (size_t i = 0; i + 2 < image.size(); i += 3) {
    for (const auto& [name, c] : colours) {
      if (std::abs(image[i] - c.r) <= 6 && std::abs(image[i + 1] - c.g) <= 6 &&
          std::abs(image[i + 2] - c.b) <= 6) {
        counts[name] += 1;
      }
    }
  }
  return counts;
}

TEST(ReportRenderTest, TheOuladReportRendersInHeadlessChromiumWithEveryPlot) {
  testing::ScratchDir dir("cartable-report-render");
  const auto out = dir.path() / "oulad";
  auto simulate =
      ChildProcess::Spawn({CARTABLE_BINARY, "simulate", "--out", out.string(), "--data",
                           "oulad:" + kOuladSubset.string(), "--partition", "by:region", "--model",
                           "logistic", "--rounds", "4", "--fairness", "gender"},
                          dir.path() / "simulate.log")
          .value();
  ASSERT_EQ(simulate->WaitFor(std::chrono::seconds(300)).value_or(-1), 0)
      << testing::Slurp(dir.path() / "simulate.log");
  const std::string html = testing::Slurp(out / "report.html");
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("https:"), std::string::npos);
  EXPECT_NE(html.find("Fairness by subgroup"), std::string::npos);

  // Chromium runs here as root in CI, where its sandbox cannot start: --no-sandbox. It fetches
  // nothing (the page holds no address) and its profile lives in the scratch directory.
  const auto png = dir.path() / "report.png";
  auto chromium = ChildProcess::Spawn(
      {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
       "--user-data-dir=" + (dir.path() / "profile").string(), "--window-size=900,3200",
       "--screenshot=" + png.string(), "file://" + (out / "report.html").string()},
      dir.path() / "chromium.log");
  ASSERT_TRUE(chromium.ok()) << chromium.status() << " (scripts/setup installs chromium)";
  ASSERT_EQ((*chromium)->WaitFor(std::chrono::seconds(120)).value_or(-1), 0)
      << testing::Slurp(dir.path() / "chromium.log");

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_NE(png_image_begin_read_from_file(&image, png.c_str()), 0) << image.message;
  image.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  ASSERT_NE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr), 0) << image.message;
  EXPECT_EQ(image.width, 900u);
  EXPECT_EQ(image.height, 3200u);

  // The colours of simulations/report_html.cpp.
  const auto counts = CountColours(pixels, {{"federated", {0x1b, 0x6c, 0xa8}},
                                            {"centralised", {0x2e, 0x8b, 0x57}},
                                            {"local only", {0xc0, 0x39, 0x2b}},
                                            {"answered", {0x7f, 0xb3, 0xd5}},
                                            {"training loss", {0x8e, 0x6c, 0x8a}}});
  for (const char* name : {"federated", "centralised", "local only", "answered", "training loss"}) {
    EXPECT_GE(counts.count(name) ? counts.at(name) : 0, 100u) << name;
  }
}

}  // namespace
}  // namespace cartable
