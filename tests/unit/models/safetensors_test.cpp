#include "models/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"

using ::cartable::StatusCode;
using ::cartable::models::CreateModel;
using ::cartable::models::FlattenInLayout;
using ::cartable::models::Model;
using ::cartable::models::NamedTensor;
using ::cartable::models::ParameterBlock;
using ::cartable::models::ReadSafetensors;
using ::cartable::models::SafetensorsFile;
using ::cartable::models::SplitByLayout;
using ::cartable::models::WriteSafetensors;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

namespace {

std::string LittleEndianU64(uint64_t value) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

std::string LittleEndianF32s(const std::vector<float>& values) {
  std::string out;
  for (float value : values) {
    const uint32_t word = std::bit_cast<uint32_t>(value);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((word >> (8 * i)) & 0xff));
  }
  return out;
}

// A hand-made file: the size prefix (the header's length unless `declared` says otherwise), header,
// buffer.
std::string FileBytes(const std::string& header, const std::string& buffer, int64_t declared = -1) {
  return LittleEndianU64(declared < 0 ? header.size() : static_cast<uint64_t>(declared)) + header +
         buffer;
}

// Bit patterns, so that NaN, -0 and denormals count as equal only when they survive exactly.
std::vector<uint32_t> Bits(const std::vector<float>& values) {
  std::vector<uint32_t> bits;
  for (float value : values) bits.push_back(std::bit_cast<uint32_t>(value));
  return bits;
}

// A fresh directory per test, removed afterwards.
class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("cartable_safetensors_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_));
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path WriteRaw(const std::string& bytes,
                    const std::string& name = "hostile.safetensors") const {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  static std::string Slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // The read must fail with a message naming the file and containing `problem`.
  void ExpectRefused(const std::string& bytes, const std::string& problem) const {
    const fs::path path = WriteRaw(bytes);
    const auto file = ReadSafetensors(path);
    ASSERT_FALSE(file.ok()) << "accepted a file whose problem is: " << problem;
    EXPECT_THAT(file.status().message(), HasSubstr(path.string()));
    EXPECT_THAT(file.status().message(), HasSubstr(problem));
  }

  fs::path dir_;
};

TEST_F(SafetensorsTest, RoundTripsTensorsScalarsEmptyTensorsAndMetadata) {
  const std::vector<NamedTensor> tensors = {
      {"layer.weight", {2, 3}, {1.5f, -2.25f, 0.0f, -0.0f, 1e-45f, 3.0e38f}},
      {"scalar", {}, {42.0f}},
      {"empty", {0, 3}, {}},
      {"special",
       {3},
       {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
        std::numeric_limits<float>::quiet_NaN()}},
      {"bias", {1}, {-7.0f}},
  };
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"round", "12"}, {"empty", ""}};
  const fs::path path = dir_ / "model.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, tensors, metadata).ok());

  const auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata, metadata);
  ASSERT_EQ(file->tensors.size(), tensors.size());
  // "empty" has no bytes, so it sorts with "scalar"'s end offset, before "special".
  const std::vector<std::string> order = {"layer.weight", "scalar", "empty", "special", "bias"};
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(file->tensors[i].name, order[i]);
    EXPECT_EQ(file->tensors[i].shape, tensors[i].shape) << tensors[i].name;
    EXPECT_EQ(Bits(file->tensors[i].values), Bits(tensors[i].values)) << tensors[i].name;
  }
}

TEST_F(SafetensorsTest, WritesTheExactPublishedBytes) {
  const fs::path path = dir_ / "tiny.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"w", {2}, {1.0f, -2.0f}}}, {{"by", "cartable"}}).ok());
  // 87 bytes of JSON plus one space of padding: the buffer starts at 8 + 88 = 96, a multiple of 8.
  const std::string header =
      R"({"__metadata__":{"by":"cartable"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} )";
  ASSERT_EQ(header.size(), 88u);
  const std::string expected = std::string("\x58\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  EXPECT_EQ(Slurp(path), expected);
}

TEST_F(SafetensorsTest, WritesAnAlignedHeaderForAnEmptyModel) {
  const fs::path path = dir_ / "nothing.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {}).ok());
  EXPECT_EQ(Slurp(path), std::string("\x08\0\0\0\0\0\0\0", 8) + "{}      ");
  const auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->tensors.empty());
  EXPECT_TRUE(file->metadata.empty());
}

TEST_F(SafetensorsTest, ReadsOtherWritersFilesInOffsetOrder) {
  // Unpadded header, keys not in offset order, two empty tensors sharing an offset.
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                             R"("b":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                             R"("c":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},)"
                             R"("d":{"shape":[2,0],"data_offsets":[8,8],"dtype":"F32"}})";
  const auto file = ReadSafetensors(WriteRaw(FileBytes(header, LittleEndianF32s({2.0f, 3.0f}))));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors.size(), 4u);
  EXPECT_EQ(file->tensors[0].name, "b");
  EXPECT_EQ(file->tensors[0].values, std::vector<float>{2.0f});
  EXPECT_EQ(file->tensors[1].name, "a");
  EXPECT_EQ(file->tensors[1].values, std::vector<float>{3.0f});
  EXPECT_EQ(file->tensors[3].shape, (std::vector<int64_t>{2, 0}));
}

TEST_F(SafetensorsTest, WriterRefusesMalformedTensorsAndLeavesNoFile) {
  const struct {
    std::vector<NamedTensor> tensors;
    std::string problem;
  } cases[] = {
      {{{"a", {1}, {1.0f}}, {"a", {1}, {2.0f}}}, "tensor 'a' appears twice"},
      {{{"", {1}, {1.0f}}}, "empty name"},
      {{{"a", {2, 2}, {1.0f, 2.0f, 3.0f}}}, "tensor 'a' has shape [2, 2] but 3 values"},
      {{{"a", {-1}, {}}}, "tensor 'a' has a negative dimension"},
      {{{"a", {2, -2}, {1, 2, 3, 4}}}, "tensor 'a' has a negative dimension"},
      {{{"__metadata__", {1}, {1.0f}}}, "reserved"},
      {{{"a\xff", {1}, {1.0f}}}, "not valid UTF-8"},
      {{{"a", {int64_t{1} << 62, 8}, {}}}, "tensor 'a' has shape"},
  };
  for (const auto& c : cases) {
    const fs::path path = dir_ / "refused.safetensors";
    const cartable::Status status = WriteSafetensors(path, c.tensors);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.problem;
    EXPECT_THAT(status.message(), HasSubstr(c.problem));
    EXPECT_THAT(status.message(), HasSubstr(path.string()));
    EXPECT_FALSE(fs::exists(path)) << c.problem;
  }
  const cartable::Status bad_metadata =
      WriteSafetensors(dir_ / "m.safetensors", {}, {{"note", std::string("\xc3", 1)}});
  EXPECT_THAT(bad_metadata.message(), HasSubstr("metadata value of 'note' is not valid UTF-8"));
}

TEST_F(SafetensorsTest, ReaderRefusesTruncatedOrOversizedHeaders) {
  ExpectRefused(std::string("\x02\0\0", 3), "shorter than the 8-byte header size");
  ExpectRefused(FileBytes("{}", "", 100'000'001), "exceeds the cap");
  ExpectRefused(FileBytes("{}", "", 3), "runs past the end of the file");
  ExpectRefused(FileBytes("{}", "", int64_t{std::numeric_limits<int64_t>::max()}),
                "exceeds the cap");

  const auto missing = ReadSafetensors(dir_ / "absent.safetensors");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("absent.safetensors"));
}

TEST_F(SafetensorsTest, ReaderRefusesHeadersThatAreNotAJsonObject) {
  ExpectRefused(FileBytes(R"({"a":{"dtype":"F32")", ""), "header is not valid JSON");
  ExpectRefused(FileBytes("{\"a\xff\":1}", ""), "header is not valid JSON");
  ExpectRefused(FileBytes("[1, 2]", ""), "header is not a JSON object");
  ExpectRefused(FileBytes("", ""), "header is not valid JSON");
  ExpectRefused(FileBytes(R"({"a":[0,4]})", "abcd"),
                "tensor 'a': header entry is not a JSON object");
  ExpectRefused(FileBytes(R"({"__weights__":{}})", ""), "'__weights__' uses the reserved prefix");
}

TEST_F(SafetensorsTest, ReaderRefusesDtypesOtherThanF32) {
  ExpectRefused(FileBytes(R"({"half":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", "abcd"),
                "tensor 'half' has dtype 'F16'; only F32 is supported");
  ExpectRefused(FileBytes(R"({"x":{"shape":[1],"data_offsets":[0,4]}})", "abcd"),
                "tensor 'x': 'dtype' is missing");
  ExpectRefused(FileBytes(R"({"x":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", "abcd"),
                "tensor 'x': 'dtype' is missing or not a string");
}

TEST_F(SafetensorsTest, ReaderRefusesBadShapes) {
  const std::string buffer = LittleEndianF32s({1.0f});
  ExpectRefused(FileBytes(R"({"s":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", buffer),
                "tensor 's': 'shape' has negative dimension -1");
  ExpectRefused(FileBytes(R"({"s":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})", buffer),
                "tensor 's': 'shape' has a dimension that is not an integer");
  ExpectRefused(FileBytes(R"({"s":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", buffer),
                "tensor 's': 'shape' is not an array");
  ExpectRefused(FileBytes(R"({"s":{"dtype":"F32","data_offsets":[0,4]}})", buffer),
                "tensor 's': 'shape' is missing");
  // 2^32 × 2^32 elements: the element count overflows 64 bits.
  ExpectRefused(
      FileBytes(R"({"s":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
                buffer),
      "tensor 's': shape [4294967296, 4294967296] overflows 64 bits");
  // With a 0 dim nothing overflows, but a dim beyond int64 cannot be represented.
  ExpectRefused(
      FileBytes(R"({"s":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})",
                ""),
      "tensor 's': 'shape' has dimension 18446744073709551615, too large");
}

TEST_F(SafetensorsTest, ReaderRefusesOffsetsOutsideOrInconsistentWithTheBuffer) {
  const std::string buffer = LittleEndianF32s({1.0f, 2.0f});
  ExpectRefused(FileBytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", buffer),
                "tensor 't': 'data_offsets' [4, 12) do not fit in the buffer of 8 bytes");
  ExpectRefused(FileBytes(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", buffer),
                "tensor 't': 'data_offsets' [8, 0) end before they begin");
  ExpectRefused(FileBytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", buffer),
                "tensor 't': 'data_offsets' [0, 4) span 4 bytes but shape [2] of F32 needs 8");
  ExpectRefused(FileBytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", buffer),
                "tensor 't': 'data_offsets' is not a pair of non-negative integers");
  ExpectRefused(FileBytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", buffer),
                "tensor 't': 'data_offsets' is not a pair");
  ExpectRefused(FileBytes(R"({"t":{"dtype":"F32","shape":[2]}})", buffer),
                "tensor 't': 'data_offsets' is not a pair");
}

TEST_F(SafetensorsTest, ReaderRefusesTensorsThatDoNotTileTheBuffer) {
  const std::string twelve = LittleEndianF32s({1.0f, 2.0f, 3.0f});
  ExpectRefused(FileBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                          twelve),
                "tensor 'b' overlaps tensor 'a'");
  ExpectRefused(FileBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                          twelve),
                "buffer bytes [4, 8) before tensor 'b' belong to no tensor");
  ExpectRefused(FileBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", twelve),
                "buffer has 12 bytes but the tensors cover 4");
  // An empty tensor placed inside another one's bytes.
  ExpectRefused(FileBytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                          R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                          twelve),
                "tensor 'z' overlaps tensor 'a'");
}

TEST_F(SafetensorsTest, ReaderRefusesMetadataThatIsNotStrings) {
  ExpectRefused(FileBytes(R"({"__metadata__":{"round":3}})", ""),
                "'__metadata__' entry 'round' is not a string");
  ExpectRefused(FileBytes(R"({"__metadata__":["a"]})", ""), "'__metadata__' is not a JSON object");
}

TEST_F(SafetensorsTest, FlattenInLayoutAndSplitByLayoutRoundTripARealModel) {
  auto model = CreateModel({"pfa", 3});
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<ParameterBlock> layout = (*model)->parameter_layout();
  std::vector<float> parameters = (*model)->GetParameters();
  for (size_t i = 0; i < parameters.size(); ++i)
    parameters[i] = 0.25f * static_cast<float>(i) - 1.0f;
  ASSERT_TRUE((*model)->SetParameters(parameters).ok());

  const fs::path path = dir_ / "pfa.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, SplitByLayout((*model)->GetParameters(), layout)).ok());
  const auto file = ReadSafetensors(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors.size(), layout.size());
  for (size_t i = 0; i < layout.size(); ++i) {
    EXPECT_EQ(file->tensors[i].name, layout[i].name);
    EXPECT_EQ(file->tensors[i].shape, layout[i].shape);
  }

  // Layout order, not file order, decides the flat vector.
  SafetensorsFile shuffled = *file;
  std::swap(shuffled.tensors.front(), shuffled.tensors.back());
  const auto flat = FlattenInLayout(shuffled, layout);
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(*flat, parameters);

  auto fresh = CreateModel({"pfa", 3});
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE((*fresh)->SetParameters(*flat).ok());
  EXPECT_EQ((*fresh)->GetParameters(), parameters);
}

TEST_F(SafetensorsTest, FlattenInLayoutRefusesAFileForAnotherModel) {
  const std::vector<ParameterBlock> layout = {{"w", {2, 2}}, {"b", {2}}};
  const SafetensorsFile good{{{"w", {2, 2}, {1, 2, 3, 4}}, {"b", {2}, {5, 6}}}, {}};
  ASSERT_TRUE(FlattenInLayout(good, layout).ok());

  SafetensorsFile missing = good;
  missing.tensors.pop_back();
  EXPECT_THAT(FlattenInLayout(missing, layout).status().message(),
              HasSubstr("tensor 'b' of the model's layout is missing"));

  SafetensorsFile extra = good;
  extra.tensors.push_back({"c", {1}, {7}});
  EXPECT_THAT(FlattenInLayout(extra, layout).status().message(),
              HasSubstr("tensor 'c' is not part of the model's layout"));

  SafetensorsFile reshaped = good;
  reshaped.tensors[0].shape = {4};
  const auto status = FlattenInLayout(reshaped, layout).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("tensor 'w' has shape [4] but the model expects [2, 2]"));

  SafetensorsFile short_values = good;
  short_values.tensors[1].values.pop_back();
  EXPECT_THAT(FlattenInLayout(short_values, layout).status().message(),
              HasSubstr("tensor 'b' has 1 values for shape [2]"));
}

TEST(SafetensorsDeathTest, SplitByLayoutAbortsOnAVectorOfTheWrongLength) {
  const std::vector<ParameterBlock> layout = {{"w", {2, 2}}, {"b", {2}}};
  const std::vector<float> flat(5, 1.0f);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(SplitByLayout(flat, layout), "the layout holds 6 parameters but the vector has 5");
}

}  // namespace
