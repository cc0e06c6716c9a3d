// Model files: a model's parameters as named safetensors tensors that rebuild it, and its card.

#include "models/model_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "core/files.h"
#include "models/model.h"
#include "models/safetensors.h"

using ::cartable::ReadFile;
using ::cartable::Status;
using ::cartable::StatusCode;
using ::cartable::models::CreateModel;
using ::cartable::models::FlattenInLayout;
using ::cartable::models::Model;
using ::cartable::models::ModelCard;
using ::cartable::models::ModelCardPath;
using ::cartable::models::ModelSpec;
using ::cartable::models::ReadSafetensors;
using ::cartable::models::WriteModelFile;
using ::testing::HasSubstr;

namespace {

class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cartable-model-file-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::unique_ptr<Model> New(const ModelSpec& spec) {
    auto model = CreateModel(spec);
    EXPECT_TRUE(model.ok()) << model.status();
    return model.ok() ? std::move(model).value() : nullptr;
  }

  // Distinct values, so a tensor read from the wrong place shows.
  static std::vector<float> Distinct(size_t n, float base = 0) {
    std::vector<float> values(n);
    for (size_t i = 0; i < n; ++i) values[i] = base + 0.01f * static_cast<float>(i);
    return values;
  }

  static nlohmann::json Card(const std::filesystem::path& path) {
    auto text = ReadFile(ModelCardPath(path));
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json();
  }

  std::filesystem::path dir_;
};

TEST_F(ModelFileTest, WritesEachParameterBlockAsANamedTensorAndACard) {
  const ModelSpec spec{"pfa", 4};
  auto model = New(spec);
  ASSERT_NE(model, nullptr);
  const std::vector<float> values = Distinct(model->num_parameters());
  const auto path = dir_ / "pfa.safetensors";
  ModelCard card;
  card.training = {{"setting", "centralised"}, {"epochs", 3}};
  card.metrics = {{"test", {{"auc", 0.75}}}};
  ASSERT_TRUE(WriteModelFile(path, spec, values, card).ok());

  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors.size(), 5u);
  EXPECT_EQ(file->tensors[0].name, "pfa.beta");
  EXPECT_EQ(file->tensors[0].shape, std::vector<int64_t>({4}));
  EXPECT_EQ(file->tensors[0].values, std::vector<float>(values.begin(), values.begin() + 4));
  EXPECT_EQ(file->tensors[4].name, "pfa.bias");
  EXPECT_EQ(file->tensors[4].values, std::vector<float>({values.back()}));
  EXPECT_EQ(file->metadata.at("format"), "pt");
  EXPECT_EQ(file->metadata.at("cartable.model"), "pfa");
  EXPECT_EQ(file->metadata.at("cartable.num_skills"), "4");
  EXPECT_EQ(file->metadata.at("cartable.options"), "{}");

  const nlohmann::json written = Card(path);
  EXPECT_EQ(written["model"]["name"], "pfa");
  EXPECT_EQ(written["model"]["num_skills"], 4);
  EXPECT_EQ(written["model"]["parameters"], 3 * 4 + 3);
  EXPECT_EQ(written["training"], card.training);
  EXPECT_EQ(written["metrics"], card.metrics);
  EXPECT_FALSE(written.contains("data"));  // a null section is left out
  EXPECT_THAT(written["produced_by"].get<std::string>(), ::testing::StartsWith("cartable "));
  EXPECT_TRUE(std::regex_match(written["date"].get<std::string>(),
                               std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2}")));
}

TEST_F(ModelFileTest, TheMetadataRebuildTheModelWithItsParameters) {
  const ModelSpec spec{"dkt", 5, 0, 0, {{"hidden_size", "6"}, {"cell", "gru"}}};
  auto model = New(spec);
  ASSERT_NE(model, nullptr);
  const std::vector<float> values = Distinct(model->num_parameters(), -1);
  const auto path = dir_ / "dkt.safetensors";
  ASSERT_TRUE(WriteModelFile(path, spec, values, {}).ok());

  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ModelSpec rebuilt;
  rebuilt.name = file->metadata.at("cartable.model");
  rebuilt.num_skills = static_cast<uint32_t>(std::stoul(file->metadata.at("cartable.num_skills")));
  rebuilt.options = nlohmann::json::parse(file->metadata.at("cartable.options"))
                        .get<std::map<std::string, std::string>>();
  auto fresh = New(rebuilt);
  ASSERT_NE(fresh, nullptr);
  auto flat = FlattenInLayout(*file, fresh->parameter_layout());
  ASSERT_TRUE(flat.ok()) << flat.status();
  ASSERT_TRUE(fresh->SetParameters(*flat).ok());
  EXPECT_EQ(fresh->GetParameters(), values);
  EXPECT_EQ(Card(path)["model"]["options"]["cell"], "gru");
}

TEST_F(ModelFileTest, RefusesWhatDoesNotDescribeAModelAndWritesNothing) {
  const ModelSpec spec{"irt1pl", 3};
  const auto path = dir_ / "model.safetensors";

  Status wrong_length = WriteModelFile(path, spec, Distinct(4), {});
  EXPECT_EQ(wrong_length.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_length.message(), HasSubstr("has 5 parameters, got 4"));

  Status unknown = WriteModelFile(path, {"pfaa", 3}, Distinct(12), {});
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.message(), HasSubstr("pfaa"));

  ModelCard not_an_object;
  not_an_object.data = nlohmann::json::array({1, 2});
  Status bad_card = WriteModelFile(path, spec, Distinct(5), not_an_object);
  EXPECT_EQ(bad_card.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_card.message(), HasSubstr("'data'"));

  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(ModelCardPath(path)));
}

// The card of a model must never sit beside another model: a write that replaces the model but
// fails to write the new card leaves no card rather than the old one.
TEST_F(ModelFileTest, AFailedCardWriteLeavesNoStaleCardBesideTheNewModel) {
  const ModelSpec spec{"pfa", 2};
  const auto path = dir_ / "pfa.safetensors";
  ModelCard first;
  first.training = {{"epochs", 1}};
  ASSERT_TRUE(WriteModelFile(path, spec, Distinct(9), first).ok());
  ASSERT_EQ(Card(path)["training"]["epochs"], 1);

  // The card's temporary file cannot be created (a directory holds its name), so its write fails
  // after the model's has succeeded.
  const std::filesystem::path blocker =
      ModelCardPath(path).string() + ".tmp." + std::to_string(::getpid());
  std::filesystem::create_directories(blocker / "inside");
  Status second = WriteModelFile(path, spec, Distinct(9, 5), {});
  EXPECT_FALSE(second.ok());
  EXPECT_THAT(second.message(), HasSubstr(".card.json"));

  auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->tensors[0].values[0], 5.0f);  // the new model
  EXPECT_FALSE(std::filesystem::exists(ModelCardPath(path)));
}

}  // namespace
