#include "core/config_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cartable {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

ConfigTable ParseOk(const std::string& text) {
  auto parsed = ConfigTable::Parse(text, "cfg.toml");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return std::move(parsed).value();
}

ConfigTable TableOk(ConfigTable& parent, const std::string& key) {
  auto table = parent.Table(key);
  EXPECT_TRUE(table.ok()) << table.status();
  return std::move(table).value();
}

// The text of a failed status's message; fails the test when it is OK.
template <typename T>
std::string ErrorOf(const StatusOr<T>& result) {
  EXPECT_FALSE(result.ok());
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status();
  return result.status().message();
}

TEST(ConfigTableTest, EveryGetterReturnsItsFallbackWhenTheKeyIsAbsent) {
  ConfigTable root = ParseOk("other = 1\n");
  EXPECT_EQ(*root.Integer("n", 7, 0, 10), 7);
  EXPECT_EQ(*root.Real("x", 0.25, 0, 1), 0.25);
  EXPECT_EQ(*root.Bool("b", true), true);
  EXPECT_EQ(*root.String("s", "fallback"), "fallback");
  EXPECT_EQ(*root.Strings("list", {"a", "b"}), (std::vector<std::string>{"a", "b"}));
  ConfigTable absent = TableOk(root, "t");
  EXPECT_TRUE(absent.Keys().empty());
  EXPECT_EQ(absent.Where(), "[t] ");
  EXPECT_TRUE(root.ScalarsAsText("options")->empty());
  // A fallback is returned even when it lies outside the range: the range checks what was written.
  EXPECT_EQ(*root.Integer("m", -1, 0, 10), -1);
}

TEST(ConfigTableTest, GettersReadWhatIsWritten) {
  ConfigTable root = ParseOk(
      "n = -3\nx = 0.5\nwhole = 2\nb = false\ns = \"gru\"\nlist = [\"a\", \"b\"]\nempty = []\n");
  EXPECT_EQ(*root.Integer("n", 0, -10, 10), -3);
  EXPECT_EQ(*root.Real("x", 0, 0, 1), 0.5);
  EXPECT_EQ(*root.Real("whole", 0, 0, 10), 2.0);  // an integer is a number too
  EXPECT_EQ(*root.Bool("b", true), false);
  EXPECT_EQ(*root.String("s", "", {"lstm", "gru"}), "gru");
  EXPECT_EQ(*root.Strings("list"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(root.Strings("empty", {"fallback"})->empty());
  EXPECT_TRUE(root.Finish().ok()) << root.Finish();
}

TEST(ConfigTableTest, AnIntegerOutOfRangeNamesTheFileLineTableKeyAndRange) {
  ConfigTable root = ParseOk("# a comment\n[nodes]\nmin = 1\nexpected = 70\n");
  ConfigTable nodes = TableOk(root, "nodes");
  EXPECT_EQ(*nodes.Integer("min", 3, 1, 10), 1);
  EXPECT_THAT(ErrorOf(nodes.Integer("expected", 3, 0, 10)),
              AllOf(HasSubstr("cfg.toml:4:"), HasSubstr("[nodes] expected"), HasSubstr("[0, 10]"),
                    HasSubstr("got 70")));
}

TEST(ConfigTableTest, ARealOutOfRangeOrNotFiniteIsRefused) {
  ConfigTable root = ParseOk("[t]\nlow = 0.0\nhigh = 1.5\ninfinite = inf\nnan = nan\n");
  ConfigTable t = TableOk(root, "t");
  EXPECT_THAT(ErrorOf(t.Real("low", 1, 1e-6, 1)),
              AllOf(HasSubstr("cfg.toml:2:"), HasSubstr("[t] low"), HasSubstr("got 0")));
  EXPECT_THAT(ErrorOf(t.Real("high", 1, 1e-6, 1)),
              AllOf(HasSubstr("cfg.toml:3:"), HasSubstr("[t] high"), HasSubstr("1.5")));
  EXPECT_THAT(ErrorOf(t.Real("infinite", 1, -1e300, 1e300)),
              AllOf(HasSubstr("cfg.toml:4:"), HasSubstr("[t] infinite")));
  EXPECT_THAT(ErrorOf(t.Real("nan", 1, -1e300, 1e300)),
              AllOf(HasSubstr("cfg.toml:5:"), HasSubstr("[t] nan")));
}

TEST(ConfigTableTest, AValueOfTheWrongTypeIsRefusedNamingWhatWasExpected) {
  ConfigTable root = ParseOk(
      "[t]\ntext_int = \"3\"\nfloat_int = 3.0\nint_bool = 1\nint_string = 1\n"
      "int_choice = 2\nint_list = [1, 2]\nscalar_list = \"a\"\nscalar_table = 4\n"
      "bool_real = true\n");
  ConfigTable t = TableOk(root, "t");
  EXPECT_THAT(ErrorOf(t.Integer("text_int", 0, 0, 10)),
              AllOf(HasSubstr("cfg.toml:2:"), HasSubstr("[t] text_int"),
                    HasSubstr("expected an integer"), Not(HasSubstr("got"))));
  EXPECT_THAT(ErrorOf(t.Integer("float_int", 0, 0, 10)),
              AllOf(HasSubstr("[t] float_int"), HasSubstr("expected an integer")));
  EXPECT_THAT(ErrorOf(t.Bool("int_bool", false)),
              AllOf(HasSubstr("[t] int_bool"), HasSubstr("expected true or false")));
  EXPECT_THAT(ErrorOf(t.String("int_string", "")),
              AllOf(HasSubstr("[t] int_string"), HasSubstr("expected a string")));
  EXPECT_THAT(ErrorOf(t.String("int_choice", "", {"lstm", "gru"})),
              AllOf(HasSubstr("[t] int_choice"), HasSubstr("lstm, gru")));
  EXPECT_THAT(ErrorOf(t.Strings("int_list")),
              AllOf(HasSubstr("[t] int_list"), HasSubstr("array of strings")));
  EXPECT_THAT(ErrorOf(t.Strings("scalar_list")), HasSubstr("[t] scalar_list"));
  EXPECT_THAT(ErrorOf(t.Table("scalar_table")),
              AllOf(HasSubstr("cfg.toml:9:"), HasSubstr("[t] scalar_table"),
                    HasSubstr("expected a table ([t.scalar_table])")));
  EXPECT_THAT(ErrorOf(t.Real("bool_real", 0, 0, 1)),
              AllOf(HasSubstr("[t] bool_real"), HasSubstr("expected a number")));
}

TEST(ConfigTableTest, AStringNotAmongTheChoicesIsNamedWithTheChoices) {
  ConfigTable root = ParseOk("cell = \"rnn\"\n");
  EXPECT_THAT(ErrorOf(root.String("cell", "lstm", {"lstm", "gru"})),
              AllOf(HasSubstr("cfg.toml:1:"), HasSubstr("cell"),
                    HasSubstr("'rnn' is not one of lstm, gru")));
}

TEST(ConfigTableTest, FinishNamesTheFirstUnconsumedKeyAndListsTheKnownOnes) {
  ConfigTable root = ParseOk("[nodes]\nmin = 3\n\nfracton = 0.5\n");
  ConfigTable nodes = TableOk(root, "nodes");
  ASSERT_TRUE(nodes.Integer("min", 3, 1, 10).ok());
  ASSERT_TRUE(nodes.Real("fraction", 1, 0, 1).ok());  // absent, but known here
  ASSERT_TRUE(nodes.Integer("expected", 3, 0, 10).ok());
  const Status finished = nodes.Finish();
  EXPECT_EQ(finished.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(finished.message(),
              AllOf(HasSubstr("cfg.toml:4:"), HasSubstr("[nodes] fracton: unknown key"),
                    HasSubstr("known here: expected, fraction, min")));
  // The root consumed its one table, so it is finished; the table's own keys are its business.
  EXPECT_TRUE(root.Finish().ok()) << root.Finish();
}

TEST(ConfigTableTest, HasDoesNotCountAsConsumingAKey) {
  ConfigTable root = ParseOk("name = \"x\"\n");
  EXPECT_TRUE(root.Has("name"));
  EXPECT_FALSE(root.Has("other"));
  EXPECT_THAT(root.Finish().message(), HasSubstr("name: unknown key"));
  ASSERT_TRUE(root.String("name", "").ok());
  EXPECT_TRUE(root.Finish().ok());
}

TEST(ConfigTableTest, NestedTablesNameTheirDottedPathInErrors) {
  ConfigTable root = ParseOk("[model]\nname = \"dkt\"\n\n[model.options]\nlayers = 9\n");
  ConfigTable model = TableOk(root, "model");
  EXPECT_EQ(model.Where(), "[model] ");
  ConfigTable options = TableOk(model, "options");
  EXPECT_EQ(options.Where(), "[model.options] ");
  EXPECT_THAT(options.Keys(), UnorderedElementsAre("layers"));
  EXPECT_THAT(ErrorOf(options.Integer("layers", 1, 1, 4)),
              AllOf(HasSubstr("cfg.toml:5:"), HasSubstr("[model.options] layers")));
  // Unconsumed: model's name (options was taken).
  EXPECT_THAT(model.Finish().message(), HasSubstr("[model] name: unknown key"));
}

TEST(ConfigTableTest, AnInlineTableIsATableToo) {
  ConfigTable root = ParseOk("model = { name = \"pfa\", extra = 1 }\n");
  ConfigTable model = TableOk(root, "model");
  EXPECT_EQ(*model.String("name", ""), "pfa");
  EXPECT_THAT(model.Finish().message(),
              AllOf(HasSubstr("cfg.toml:1:"), HasSubstr("[model] extra: unknown key"),
                    HasSubstr("known here: name")));
}

TEST(ConfigTableTest, ErrorLocatesAKeyForChecksTheGettersCannotMake) {
  ConfigTable root = ParseOk("[nodes]\nmin = 5\nexpected = 4\n");
  ConfigTable nodes = TableOk(root, "nodes");
  const Status error = nodes.Error("expected", "below min");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error.message(), "cfg.toml:3: [nodes] expected: below min");
}

TEST(ConfigTableTest, ScalarsAsTextGivesEveryScalarAsText) {
  ConfigTable root = ParseOk(
      "[options]\ncell = \"gru\"\nhidden_size = 64\nwhole_float = 64.0\ndropout = 0.1\n"
      "tiny = 2.5e-7\nnegative = -3\nbidirectional = true\nshuffle = false\n");
  auto texts = root.ScalarsAsText("options");
  ASSERT_TRUE(texts.ok()) << texts.status();
  EXPECT_EQ(*texts, (std::map<std::string, std::string>{{"bidirectional", "true"},
                                                        {"cell", "gru"},
                                                        {"dropout", "0.1"},
                                                        {"hidden_size", "64"},
                                                        {"negative", "-3"},
                                                        {"shuffle", "false"},
                                                        {"tiny", "2.5e-07"},
                                                        {"whole_float", "64"}}));
  EXPECT_TRUE(root.Finish().ok()) << root.Finish();
}

TEST(ConfigTableTest, ScalarsAsTextRefusesAnArrayOrATableNamingTheEntry) {
  ConfigTable root = ParseOk("[options]\ncell = \"gru\"\nsizes = [32, 64]\n");
  EXPECT_THAT(ErrorOf(root.ScalarsAsText("options")),
              AllOf(HasSubstr("cfg.toml:3:"), HasSubstr("[options] sizes"),
                    HasSubstr("expected a string, number or boolean")));

  ConfigTable nested = ParseOk("[options]\n[options.inner]\nx = 1\n");
  EXPECT_THAT(ErrorOf(nested.ScalarsAsText("options")), HasSubstr("[options] inner"));

  ConfigTable scalar = ParseOk("options = 3\n");
  EXPECT_THAT(ErrorOf(scalar.ScalarsAsText("options")), HasSubstr("expected a table"));
}

TEST(ConfigTableTest, ATomlSyntaxErrorNamesTheSourceAndLine) {
  EXPECT_THAT(ErrorOf(ConfigTable::Parse("a = 1\nb = 2\nc = = 3\n", "plan.toml")),
              HasSubstr("plan.toml:3:"));
  EXPECT_THAT(ErrorOf(ConfigTable::Parse("a = 1\na = 2\n", "plan.toml")),
              HasSubstr("plan.toml:2:"));
  EXPECT_THAT(ErrorOf(ConfigTable::Parse("[t]\nx = \"unterminated\n", "plan.toml")),
              HasSubstr("plan.toml:2:"));
}

TEST(ConfigTableTest, ATextOverOneMebibyteIsRefusedAndOneOfExactlyThatSizeIsRead) {
  // A comment line padded to the limit: valid TOML of exactly kMaxConfigBytes bytes.
  std::string text = "#" + std::string(ConfigTable::kMaxConfigBytes - 2, 'x') + "\n";
  ASSERT_EQ(text.size(), ConfigTable::kMaxConfigBytes);
  EXPECT_TRUE(ConfigTable::Parse(text, "big.toml").ok());
  text.insert(0, "\n");
  EXPECT_THAT(ErrorOf(ConfigTable::Parse(text, "big.toml")),
              AllOf(HasSubstr("big.toml"), HasSubstr("larger than 1024 KiB")));
}

class ConfigTableFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cartable_config_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(std::filesystem::create_directories(dir_));
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::filesystem::path Write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigTableFileTest, AFileIsReadAndItsErrorsNameItsPath) {
  const auto path = Write("plan.toml", "rounds = 5\n[nodes]\nmin = 0\n");
  auto root = ConfigTable::ReadFile(path);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root->Integer("rounds", 10, 1, 100), 5);
  ConfigTable nodes = TableOk(*root, "nodes");
  EXPECT_THAT(ErrorOf(nodes.Integer("min", 3, 1, 10)),
              HasSubstr(path.string() + ":3: [nodes] min"));
}

TEST_F(ConfigTableFileTest, AnOversizedFileIsRefusedAndAMissingOneIsAnError) {
  const auto big = Write("big.toml", std::string(ConfigTable::kMaxConfigBytes + 1, '\n'));
  EXPECT_THAT(ErrorOf(ConfigTable::ReadFile(big)),
              AllOf(HasSubstr(big.string()), HasSubstr("larger than 1024 KiB")));
  auto missing = ConfigTable::ReadFile(dir_ / "missing.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing.toml"));
}

}  // namespace
}  // namespace cartable
