#include "ingest/internal/text_reader.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace cartable::ingest::internal {
namespace {

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

}  // namespace
}  // namespace cartable::ingest::internal
