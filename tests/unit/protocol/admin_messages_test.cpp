// The admin socket's two messages: their numbers, their bytes, and the caps on their documents.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages.h"

namespace cartable::protocol {
namespace {

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

TEST(AdminMessagesTest, TakeTheNextTypeNumbersInTheControlStage) {
  EXPECT_EQ(static_cast<int>(TypeOf(AdminRequest{})), 18);
  EXPECT_EQ(static_cast<int>(TypeOf(AdminReply{})), 19);
  EXPECT_EQ(kLastMessageType, 19);
  EXPECT_EQ(StageOf(MessageType::kAdminRequest), Stage::kControl);
  EXPECT_EQ(StageOf(MessageType::kAdminReply), Stage::kControl);
  EXPECT_EQ(MessageTypeName(MessageType::kAdminRequest), "AdminRequest");
  EXPECT_EQ(MessageTypeName(MessageType::kAdminReply), "AdminReply");
}

TEST(AdminMessagesTest, RequestBytesAreAsDocumented) {
  // The example in docs/wire-format.md, "The admin socket".
  const std::string expected(
      "CRTB\x08\x12\x03\x00"
      "\0\0\0\0\0\0\0\0"
      "\0\0\0\0"
      "\x29\0\0\0"
      "\x01"
      "\x06\0\0\0\0\0\0\0"
      "status"
      "\x07\0\0\0\0\0\0\0"
      "\0\0\0\0\0\0\0\0"
      "\x02\0\0\0\0\0\0\0"
      "{}",
      65);
  const std::string frame = Encode(Envelope{0, 0, AdminRequest{"status", 7, 0, Bytes("{}")}});
  EXPECT_EQ(frame, expected);
  auto decoded = Decode(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto& back = std::get<AdminRequest>(decoded->body);
  EXPECT_EQ(back.command, "status");
  EXPECT_EQ(back.run_id, 7u);
  EXPECT_EQ(back.offset, 0u);
  EXPECT_EQ(std::string(back.document.begin(), back.document.end()), "{}");
}

TEST(AdminMessagesTest, ARequestDocumentOverTheCapIsRefused) {
  AdminRequest request{"submit", 0, 0, std::vector<uint8_t>(kMaxAdminDocumentBytes + 1, 'x')};
  auto decoded = Decode(Encode(Envelope{0, 0, request}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(decoded.status().message().find("AdminRequest document"), std::string::npos);
  request.document.pop_back();
  EXPECT_TRUE(Decode(Encode(Envelope{0, 0, request})).ok());
}

TEST(AdminMessagesTest, ReplyRoundTripsADocumentLongerThanATextField) {
  std::string json = "{\"nodes\":[";
  while (json.size() < 3 * kMaxTextBytes) json += "{\"name\":\"lycee-victor-hugo\"},";
  json += "{}]}";
  const AdminReply reply{0, "OK", Bytes(json)};
  const std::string frame = Encode(Envelope{42, 0, reply});
  EXPECT_EQ(frame.size(), kHeaderBytes + 1 + 4 + 8 + 2 + 8 + json.size());
  auto decoded = Decode(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto& back = std::get<AdminReply>(decoded->body);
  EXPECT_EQ(back.code, 0u);
  EXPECT_EQ(back.message, "OK");
  EXPECT_EQ(std::string(back.json.begin(), back.json.end()), json)
      << "the document is not cut like text";
  EXPECT_EQ(decoded->run_id, 42u);
}

TEST(AdminMessagesTest, AReplyDocumentOverTheCapIsRefused) {
  const AdminReply reply{0, "OK", std::vector<uint8_t>(kMaxAdminDocumentBytes + 1, '7')};
  auto decoded = Decode(Encode(Envelope{1, 0, reply}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(decoded.status().message().find("AdminReply document"), std::string::npos);
  const AdminReply at_cap{0, "OK", std::vector<uint8_t>(kMaxAdminDocumentBytes, '7')};
  EXPECT_TRUE(Decode(Encode(Envelope{1, 0, at_cap})).ok());
}

TEST(AdminMessagesTest, AForgedDocumentLengthIsRefused) {
  std::string frame = Encode(Envelope{1, 0, AdminReply{0, "OK", Bytes("{}")}});
  // The document's u64 length sits after the endianness byte, the code and the message.
  const size_t length_at = kHeaderBytes + 1 + 4 + 8 + 2;
  frame[length_at + 4] = 0x7f;
  auto decoded = Decode(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cartable::protocol
