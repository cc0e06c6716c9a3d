// What a node writes in its audit log: the runs and rounds it was offered, once each, and each
// message it sends by type, size and hash, never a value.

#include "node/audit_trail.h"

#include <gtest/gtest.h>

#include "protocol/codec.h"

namespace cartable::node {
namespace {

protocol::Envelope Request(uint64_t run_id, uint32_t round, bool secure) {
  protocol::TrainRequest request;
  request.model.name = "pfa";
  request.config.local_epochs = 2;
  request.global_parameters = {0.5F, -1.25F};
  request.contribution.max_norm = 3.5;
  request.proximal_mu = 0.25F;
  request.secagg.enabled = secure ? 1 : 0;
  request.secagg.cohort = {{"a", {}}, {"b", {}}, {"c", {}}};
  for (size_t i = 0; i < request.plan_hash.size(); ++i) request.plan_hash[i] = 0xA0 + i % 16;
  return {run_id, round, request};
}

std::vector<std::string> Events(const std::vector<AuditNote>& notes) {
  std::vector<std::string> events;
  for (const AuditNote& note : notes) events.push_back(note.event);
  return events;
}

TEST(AuditTrailTest, ARunIsOfferedOnceAndEachRoundRequestedOnce) {
  AuditTrail trail;
  EXPECT_EQ(Events(trail.Received(Request(7, 1, true))),
            (std::vector<std::string>{"run_offered", "round_requested"}));
  EXPECT_TRUE(trail.Received(Request(7, 1, true)).empty()) << "a request sent again";
  EXPECT_EQ(Events(trail.Received(Request(7, 2, true))),
            (std::vector<std::string>{"round_requested"}));
  EXPECT_EQ(Events(trail.Received(Request(8, 1, false))),
            (std::vector<std::string>{"run_offered", "round_requested"}));
  EXPECT_TRUE(trail.Received({7, 2, protocol::Heartbeat{}}).empty());
  EXPECT_EQ(Events(trail.Received({8, 1, protocol::Shutdown{"done"}})),
            (std::vector<std::string>{"run_ended"}));
}

TEST(AuditTrailTest, AnOfferSaysWhatTheNodeIsAskedToDo) {
  AuditTrail trail;
  std::vector<AuditNote> notes = trail.Received(Request(7, 3, true));
  ASSERT_EQ(notes.size(), 2U);
  EXPECT_EQ(notes[0].data.dump(),
            R"({"run_id":7,"round":3,"plan_hash":")"
            R"(a0a1a2a3a4a5a6a7a8a9aaabacadaeafa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",)"
            R"("model":"pfa","secure":true,"cohort":3,"local_epochs":2,"proximal_mu":0.25,)"
            R"("max_norm":3.5})");
  // The global model by hash: the bytes of 0.5f and -1.25f, little-endian.
  EXPECT_EQ(notes[1].data.dump(),
            R"({"run_id":7,"round":3,"secure":true,"cohort":3,"global_sha256":")"
            R"(7b45a47d9278f40774a3ab7770cdadae80c58f0bc7e47b6ef7dd9835286ea052"})");
}

TEST(AuditTrailTest, ARunWithoutAPlanHasAnEmptyPlanHash) {
  EXPECT_EQ(PlanHashHex({}), "");
  protocol::DigestBytes one{};
  one[31] = 1;
  EXPECT_EQ(PlanHashHex(one), std::string(63, '0') + "1");
}

TEST(AuditTrailTest, AMessageSentIsRecordedBySizeAndHash) {
  AuditTrail trail;
  protocol::Envelope reply{7, 3, protocol::TrainResult{{1.0F, 2.0F}}};
  std::optional<AuditNote> note = trail.Sending(reply, "abc");
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->event, "message_sent");
  EXPECT_EQ(note->data.dump(),
            R"({"run_id":7,"round":3,"type":"TrainResult","bytes":3,)"
            R"("sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"})");
}

TEST(AuditTrailTest, ARefusalIsRecordedWithItsReasonAndHeartbeatsAreNot) {
  AuditTrail trail;
  protocol::Envelope refusal{7, 3, protocol::ErrorReply{3, "cohort of 2 is below 3", {}}};
  std::optional<AuditNote> note = trail.Sending(refusal, protocol::Encode(refusal));
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->event, "round_refused");
  EXPECT_EQ(note->data.dump(), R"({"run_id":7,"round":3,"reason":"cohort of 2 is below 3"})");
  protocol::Envelope heartbeat{7, 3, protocol::Heartbeat{}};
  EXPECT_FALSE(trail.Sending(heartbeat, protocol::Encode(heartbeat)).has_value());
}

}  // namespace
}  // namespace cartable::node
