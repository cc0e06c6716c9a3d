#include "ingest/internal/text_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "data_file_test.h"

namespace cartable::ingest::internal {
namespace {

using ::testing::HasSubstr;

TEST(Iso8601Test, ParsesZonesFractionsAndTheEpoch) {
  EXPECT_EQ(ParseIso8601Micros("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIso8601Micros("1970-01-01T00:00:01.5Z"), 1500000);
  EXPECT_EQ(ParseIso8601Micros("1970-01-01T00:00:00.1234567Z"), 123456);  // beyond µs is dropped
  EXPECT_EQ(ParseIso8601Micros("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseIso8601Micros("1970-01-01T01:00:00+0100"), 0);
  EXPECT_EQ(ParseIso8601Micros("1969-12-31T23:00:00-01"), 0);
  EXPECT_EQ(ParseIso8601Micros("1970-01-02 00:00:00"), int64_t{86400} * 1000000);  // no zone: UTC
  EXPECT_EQ(ParseIso8601Micros("2000-03-01T00:00:00Z").value() -
                ParseIso8601Micros("2000-02-28T00:00:00Z").value(),
            int64_t{2} * 86400 * 1000000);  // 2000 is a leap year
  EXPECT_EQ(ParseIso8601Micros("2024-03-05T10:15:00.250+01:00"),
            int64_t{1709630100} * 1000000 + 250000);
}

TEST(Iso8601Test, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "2024", "2024-03-05", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:61Z",
                          "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+25:00",
                          "2024-01-01T00:00:00+01:", "2024-01-01T00:00:00Zjunk",
                          "+2024-01-01T00:00:00Z", "2024-01-01X00:00:00Z"}) {
    EXPECT_FALSE(ParseIso8601Micros(bad).has_value()) << bad;
  }
}

TEST(LineReaderTest, SplitsLinesAndCountsThem) {
  std::istringstream in("a\r\n\nlast");
  LineReader reader(in, "f");
  EXPECT_EQ(reader.Next(), "a");
  EXPECT_EQ(reader.Next(), "");
  EXPECT_EQ(reader.Next(), "last");
  EXPECT_EQ(reader.line_number(), 3u);
  EXPECT_FALSE(reader.Next().has_value());
  EXPECT_TRUE(reader.status().ok());
}

TEST(LineReaderTest, DropsAByteOrderMarkOnTheFirstLineOnly) {
  std::istringstream in("\xEF\xBB\xBFuid\n\xEF\xBB\xBFx\n");
  LineReader reader(in, "f");
  EXPECT_EQ(reader.Next(), "uid");
  EXPECT_EQ(reader.Next(), "\xEF\xBB\xBFx");
}

TEST(LineReaderTest, RefusesALineLongerThanTheCapAcrossBufferRefills) {
  std::istringstream in("ok\n" + std::string(kMaxLineBytes + 1, 'x') + "\n");
  LineReader reader(in, "f");
  EXPECT_EQ(reader.Next(), "ok");
  EXPECT_FALSE(reader.Next().has_value());
  EXPECT_NE(reader.status().message().find("f:2: line longer than"), std::string::npos);
}

TEST(TextTest, QuoteEscapesBytesAndCuts) {
  EXPECT_EQ(Quote("a\xff\n"), "'a\\xff\\x0a'");
  EXPECT_EQ(Quote(std::string(50, 'z')), "'" + std::string(40, 'z') + "...'");
}

TEST(TextTest, ParseIndexIsStrict) {
  EXPECT_EQ(ParseIndex("7", 8), 7u);
  for (const char* bad : {"", "8", "-1", "+1", " 1", "1 ", "0x1", "1.0", "4294967296"}) {
    EXPECT_FALSE(ParseIndex(bad, 8).has_value()) << bad;
  }
}

TEST(TextTest, DenseIdsStopAtTheLimit) {
  DenseIds ids(2);
  EXPECT_EQ(ids.Id("b"), 0u);
  EXPECT_EQ(ids.Id("a"), 1u);
  EXPECT_EQ(ids.Id("b"), 0u);
  EXPECT_FALSE(ids.Id("c").has_value());
  EXPECT_EQ(ids.size(), 2u);
}

TEST(QuotedRecordTest, SplitsQuotedAndPlainFieldsWithoutTrimming) {
  auto fields = SplitQuotedRecord(R"(a,"b,c","d ""e""",, x ,"")");
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(*fields, (std::vector<std::string>{"a", "b,c", "d \"e\"", "", " x ", ""}));
  EXPECT_EQ(SplitQuotedRecord("").value(), std::vector<std::string>{""});
}

TEST(QuotedRecordTest, ABadQuoteNamesItsField) {
  auto open = SplitQuotedRecord(R"(a,"b)");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(open.status().message(), HasSubstr("field 2: unterminated quote"));
  auto after = SplitQuotedRecord(R"(a,b,"c"d)");
  ASSERT_FALSE(after.ok());
  EXPECT_THAT(after.status().message(), HasSubstr("field 3: text after the closing quote"));
}

class CsvTableTest : public testing::TempDirTest {};

TEST_F(CsvTableTest, FindsColumnsByNameAndSkipsEmptyLines) {
  const auto path = Write("t.csv", "b,a,other\n\n1,\"x,y\",z\r\n\r\n2.5,w,\n");
  auto table = CsvTable::Open(path, {"a", "b"});
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_TRUE(table->Next().value());
  EXPECT_EQ(table->Get("a"), "x,y");
  EXPECT_EQ(table->Get("b"), "1");
  EXPECT_EQ(table->Number("b", 0, 5).value(), 1);
  EXPECT_EQ(table->Where(), path.string() + ":3");
  ASSERT_TRUE(table->Next().value());
  EXPECT_EQ(table->Get("other"), "");
  EXPECT_EQ(table->Number("b", 0, 5, /*integral=*/false).value(), 2.5);
  EXPECT_THAT(table->Number("b", 0, 5).status().message(),
              HasSubstr(path.string() + ":5: field 'b': '2.5' is not an integer in [0, 5]"));
  EXPECT_FALSE(table->Next().value());
}

TEST_F(CsvTableTest, ErrorsNameFileLineAndField) {
  auto no_column = CsvTable::Open(Write("t.csv", "a,b\n1,2\n"), {"a", "c"});
  ASSERT_FALSE(no_column.ok());
  EXPECT_THAT(no_column.status().message(), HasSubstr("t.csv:1: the header lacks column 'c'"));

  auto table = CsvTable::Open(Write("u.csv", "a,b\n1,2\n3\n"), {"a"});
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_TRUE(table->Next().value());
  EXPECT_THAT(table->Number("b", 0, 1).status().message(),
              HasSubstr("u.csv:2: field 'b': '2' is not an integer in [0, 1]"));
  EXPECT_THAT(table->Next().status().message(), HasSubstr("u.csv:3: 1 fields, the header has 2"));

  auto quote = CsvTable::Open(Write("v.csv", "a,b\n1,\"2\n"), {"a"});
  ASSERT_TRUE(quote.ok()) << quote.status();
  EXPECT_THAT(quote->Next().status().message(), HasSubstr("v.csv:2: field 2: unterminated quote"));

  auto empty = CsvTable::Open(Write("w.csv", ""), {"a"});
  EXPECT_THAT(empty.status().message(), HasSubstr("w.csv:1: empty file"));
  EXPECT_EQ(CsvTable::Open(dir_ / "absent.csv", {"a"}).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cartable::ingest::internal
