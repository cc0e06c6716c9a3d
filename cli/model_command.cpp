// `cartable model inspect FILE`: what a model file holds (models/model_file.h: the safetensors and,
// beside it, the model card), read as untrusted input.

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/files.h"
#include "models/model_file.h"
#include "models/safetensors.h"

namespace cartable::cli {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

int RunInspect(const std::string& path, bool json) {
  auto file = models::ReadSafetensors(path);
  if (!file.ok()) return ReportFailure(file.status());
  nlohmann::json out = {
      {"file", path}, {"metadata", file->metadata}, {"tensors", nlohmann::json::array()}};
  size_t total = 0;
  for (const auto& t : file->tensors) {
    double sum = 0, sum_sq = 0, lo = INFINITY, hi = -INFINITY;
    for (float v : t.values) {
      sum += v;
      sum_sq += double(v) * v;
      lo = std::min(lo, double(v));
      hi = std::max(hi, double(v));
    }
    const double n = static_cast<double>(t.values.size());
    nlohmann::json entry = {{"name", t.name}, {"shape", t.shape}, {"values", t.values.size()}};
    if (n > 0) {
      entry["min"] = lo;
      entry["max"] = hi;
      entry["mean"] = sum / n;
      entry["rms"] = std::sqrt(sum_sq / n);
    }
    out["tensors"].push_back(entry);
    total += t.values.size();
  }
  out["parameters"] = total;
  const std::string card_path = models::ModelCardPath(path).string();
  if (auto card = ReadFile(card_path); card.ok()) {
    auto parsed = nlohmann::json::parse(*card, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) out["card"] = parsed;
  }
  if (json) {
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::printf("%s: %zu tensors, %zu parameters (F32)\n", path.c_str(), file->tensors.size(), total);
  for (const auto& [key, value] : file->metadata)
    std::printf("  metadata  %s = %s\n", key.c_str(), value.c_str());
  for (const auto& t : out["tensors"]) {
    std::printf("  %-24s %-12s", t["name"].get<std::string>().c_str(),
                ShapeText(t["shape"]).c_str());
    if (t.contains("mean")) {
      std::printf("  min %+.4f  max %+.4f  mean %+.4f", t["min"].get<double>(),
                  t["max"].get<double>(), t["mean"].get<double>());
    }
    std::printf("\n");
  }
  if (out.contains("card")) std::printf("  model card: %s\n", card_path.c_str());
  return kExitOk;
}

}  // namespace

Runner AddModelCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("model", "Look at model files");
  cmd->require_subcommand(1);
  CLI::App* inspect = cmd->add_subcommand(
      "inspect",
      "Describe a safetensors model file (tensors, shapes, value ranges, metadata, and its\n"
      "model card when FILE.card.json is beside it). Any safetensors F32 file can be inspected.");
  inspect->add_option("file", *path, "The .safetensors file")->required();
  inspect->add_flag("--json", *json, "Print the description as JSON");
  return [path, json] { return RunInspect(*path, *json); };
}

}  // namespace cartable::cli
