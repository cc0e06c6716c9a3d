// Printable and HexId: what a peer sent, shown in a log without letting it forge lines, drive the
// terminal or hide bytes.

#include "core/printable.h"

#include <gtest/gtest.h>

#include <string>

namespace cartable {
namespace {

TEST(PrintableTest, OrdinaryTextAndAccentedLettersAreKept) {
  EXPECT_EQ(Printable("lycee-a"), "lycee-a");
  EXPECT_EQ(Printable("lycée Victor-Hugo, Besançon"), "lycée Victor-Hugo, Besançon");
  EXPECT_EQ(Printable("école 学校 🎒"), "école 学校 🎒");
  EXPECT_EQ(Printable(""), "");
}

// Regression: a node's error text forged a "round 5/5" line of its own in the coordinator's log.
TEST(PrintableTest, ANewlineCannotForgeALogLine) {
  const std::string forged = Printable("oops\n[info] round 5/5  nodes 3  train loss 0.1\r");
  EXPECT_EQ(forged.find('\n'), std::string::npos);
  EXPECT_EQ(forged.find('\r'), std::string::npos);
  EXPECT_EQ(forged, "oops\\x0a[info] round 5/5  nodes 3  train loss 0.1\\x0d");
}

TEST(PrintableTest, TerminalEscapesAndControlCharactersAreEscaped) {
  EXPECT_EQ(Printable("\x1b[2J\x1b]0;pwned\x07"), "\\x1b[2J\\x1b]0;pwned\\x07");
  EXPECT_EQ(Printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(Printable("tab\there\x7f"), "tab\\x09here\\x7f");
  EXPECT_EQ(Printable("\xc2\x9b"
                      "31m"),
            "\\xc2\\x9b31m");  // C1 CSI, valid UTF-8 but a terminal escape
  EXPECT_EQ(Printable("abc\xe2\x80\xae"
                      "fdp.exe"),
            "abc\\xe2\\x80\\xaefdp.exe");  // right-to-left override
}

TEST(PrintableTest, BackslashAndQuotesAreEscapedSoTheOutputIsUnambiguous) {
  EXPECT_EQ(Printable("a\\x41"), "a\\x5cx41");  // a literal "\x41" cannot pass for an escaped 'A'
  EXPECT_EQ(Printable("say \"hi\" 'now'"), "say \\x22hi\\x22 \\x27now\\x27");
}

TEST(PrintableTest, InvalidUtf8IsEscapedBytePerByte) {
  EXPECT_EQ(Printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(Printable("caf\xe9"), "caf\\xe9");                       // Latin-1, not UTF-8
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(Printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(Printable("\xe2\x82"), "\\xe2\\x82");                    // truncated sequence
  EXPECT_EQ(Printable("\xe2\x82"
                      "A"),
            "\\xe2\\x82A");
}

TEST(PrintableTest, LongTextIsCappedWithAMarkerNeverMidCharacter) {
  const std::string long_text(1000, 'a');
  EXPECT_EQ(Printable(long_text, 10), "aaaaaaaaaa...[+990 bytes]");
  EXPECT_EQ(Printable(long_text).size(), 200 + std::string("...[+800 bytes]").size());
  // 'é' is two bytes: at a cap of 3 only one fits whole.
  EXPECT_EQ(Printable("éé", 3), "é...[+2 bytes]");
  // An escape is four bytes: never cut in half.
  EXPECT_EQ(Printable("ab\n", 4), "ab...[+1 bytes]");
  EXPECT_EQ(Printable("abc", 3), "abc");
}

TEST(HexIdTest, BinaryIdsBecomeHex) {
  EXPECT_EQ(HexId(std::string("\x00\x80\x00\x00\x01", 5)), "0080000001");
  EXPECT_EQ(HexId(""), "");
  EXPECT_EQ(HexId("\x1b[2J"), "1b5b324a");
  EXPECT_EQ(HexId(std::string(40, '\xab'), 2), "abab...[+38 bytes]");
}

}  // namespace
}  // namespace cartable
