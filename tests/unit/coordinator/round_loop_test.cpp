#include "coordinator/round_loop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "loop_messages.h"

namespace cartable::coordinator {
namespace {

using protocol::Envelope;

RunConfig SmallRun() {
  RunConfig config;
  config.run_id = 42;
  config.rounds = 2;
  config.expected_nodes = 3;
  config.min_nodes = 2;
  config.model.num_skills = 2;  // 3·2 + 3 = 9 parameters
  config.join_timeout = std::chrono::seconds(10);
  config.round_timeout = std::chrono::seconds(5);
  // These tests drive the round loop with hand-written updates; secure rounds, which need real
  // SecAgg+ clients, are tested with node sessions in tests/integration/.
  config.secagg.enabled = false;
  return config;
}

template <typename T>
std::vector<const T*> BodiesOf(const std::vector<Outgoing>& out) {
  std::vector<const T*> bodies;
  for (const Outgoing& o : out) {
    if (const T* body = std::get_if<T>(&o.envelope->body)) bodies.push_back(body);
  }
  return bodies;
}

Envelope Update(uint32_t round, float value, double examples) {
  return Envelope{42, round, PackedUpdate(9, value, examples, value)};
}

Envelope Evaluation(uint32_t round) {
  models::SummableMetrics m =
      models::SummableMetrics::Of(std::vector<float>{0.2f, 0.9f}, std::vector<uint8_t>{0, 1})
          .value();
  return Envelope{
      42, round,
      protocol::EvaluateResult{{m.positive_histogram, m.negative_histogram, m.log_loss_sum,
                                m.correct, m.count, m.squared_error_sum, m.count}}};
}

class RoundLoopTest : public ::testing::Test {
 protected:
  void Create(const RunConfig& config) { loop_ = RoundLoop::Create(config, clock_).value(); }
  std::vector<Outgoing> Join(const std::string& peer) {
    return loop_->OnMessage(peer, HelloFrom("school-" + peer));
  }
  ManualClock clock_;
  std::unique_ptr<RoundLoop> loop_;
};

TEST_F(RoundLoopTest, StartsWhenExpectedNodesJoinAndAveragesByWeight) {
  Create(SmallRun());
  EXPECT_TRUE(Join("a").empty());
  EXPECT_TRUE(Join("b").empty());
  std::vector<Outgoing> start = Join("c");
  ASSERT_EQ(BodiesOf<protocol::TrainRequest>(start).size(), 3u);
  EXPECT_EQ(start[0].envelope->round, 1u);
  EXPECT_EQ(start[0].envelope->run_id, 42u);

  EXPECT_TRUE(loop_->OnMessage("a", Update(1, 1.0f, 1)).empty());
  EXPECT_TRUE(loop_->OnMessage("b", Update(1, 2.0f, 2)).empty());
  std::vector<Outgoing> evaluate = loop_->OnMessage("c", Update(1, 4.0f, 1));
  auto requests = BodiesOf<protocol::EvaluateRequest>(evaluate);
  ASSERT_EQ(requests.size(), 3u);
  // (1·1 + 2·2 + 1·4) / 4 = 2.25, added to a zero-initialised model (weights are examples / cap, so
  // their ratios are the examples'; each weighted value went through a float).
  for (float v : requests[0]->parameters) EXPECT_NEAR(v, 2.25f, 1e-5);
  for (float v : loop_->global_model()) EXPECT_NEAR(v, 2.25f, 1e-5);
}

// The audit log hears each node join once per connection, and each attempt start with its cohort.
TEST_F(RoundLoopTest, TellsItsListenerOfJoinsAndAttemptStarts) {
  Create(SmallRun());
  std::vector<LoopEvent> events;
  loop_->set_event_listener([&](const LoopEvent& event) { events.push_back(event); });
  Join("a");
  Join("a");  // the same Hello again, on the same connection: not a join
  Join("b");
  loop_->OnMessage("a2", HelloFrom("school-a"));  // school-a on a new connection
  Join("c");
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].node, "school-a");
  EXPECT_FALSE(events[0].reconnected);
  EXPECT_EQ(events[1].node, "school-b");
  EXPECT_EQ(events[2].node, "school-a");
  EXPECT_TRUE(events[2].reconnected);
  EXPECT_EQ(events[3].node, "school-c");
  EXPECT_EQ(events[4].kind, LoopEvent::Kind::kAttemptStarted);
  EXPECT_EQ(events[4].round, 1u);
  EXPECT_EQ(events[4].cohort, (std::vector<std::string>{"school-a", "school-b", "school-c"}));
}

TEST_F(RoundLoopTest, CompletesAllRoundsRecordsMetricsAndShutsNodesDown) {
  Create(SmallRun());
  for (const char* p : {"a", "b", "c"}) Join(p);
  std::vector<Outgoing> last;
  for (uint32_t round = 1; round <= 2; ++round) {
    for (const char* p : {"a", "b", "c"}) loop_->OnMessage(p, Update(round, 0.5f, 10));
    for (const char* p : {"a", "b", "c"}) last = loop_->OnMessage(p, Evaluation(round));
  }
  EXPECT_TRUE(loop_->done());
  EXPECT_TRUE(loop_->outcome().ok());
  EXPECT_EQ(BodiesOf<protocol::Shutdown>(last).size(), 3u);
  ASSERT_EQ(loop_->records().size(), 2u);
  const RoundRecord& r = loop_->records()[1];
  EXPECT_EQ(r.nodes, 3u);
  EXPECT_NEAR(r.train_loss, 0.5, 1e-6);
  ASSERT_TRUE(r.auc.has_value());
  EXPECT_DOUBLE_EQ(*r.auc, 1.0);
  EXPECT_EQ(r.evaluated, 6u);
  for (float v : loop_->global_model()) EXPECT_NEAR(v, 1.0f, 1e-5);
}

TEST_F(RoundLoopTest, AnUnreachableNodeIsDroppedAtOnceNotWaitedOn) {
  Create(SmallRun());
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnMessage("a", Update(1, 1.0f, 1));
  loop_->OnMessage("b", Update(1, 3.0f, 1));
  // c's queue is full: the round goes on without it, before any deadline.
  std::vector<Outgoing> evaluate =
      loop_->OnUnreachable("c", DeadlineExceededError("it is not reading"));
  EXPECT_EQ(BodiesOf<protocol::EvaluateRequest>(evaluate).size(), 2u);
  for (float v : loop_->global_model()) EXPECT_NEAR(v, 2.0f, 1e-5);
  EXPECT_TRUE(loop_->OnUnreachable("c", DeadlineExceededError("again")).empty())
      << "c is out of this round already";
  EXPECT_TRUE(loop_->Snapshot().nodes.size() == 3u) << "a node that is not reading stays joined";
  EXPECT_TRUE(loop_->OnUnreachable("stranger", UnavailableError("never joined")).empty());
}

TEST_F(RoundLoopTest, DropsNodesThatMissTheDeadlineAndCarriesOn) {
  Create(SmallRun());
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnMessage("a", Update(1, 1.0f, 1));
  loop_->OnMessage("b", Update(1, 3.0f, 1));
  EXPECT_TRUE(loop_->OnTick().empty());  // not yet late
  clock_.Advance(std::chrono::seconds(6));
  std::vector<Outgoing> evaluate = loop_->OnTick();
  EXPECT_EQ(BodiesOf<protocol::EvaluateRequest>(evaluate).size(), 2u);  // c is out of this round
  for (float v : loop_->global_model()) EXPECT_NEAR(v, 2.0f, 1e-5);
  // A late update from c for round 1 is stale now and changes nothing.
  EXPECT_TRUE(loop_->OnMessage("c", Update(1, 100.0f, 1)).empty());
  for (float v : loop_->global_model()) EXPECT_NEAR(v, 2.0f, 1e-5);
  loop_->OnMessage("a", Evaluation(1));
  std::vector<Outgoing> next = loop_->OnMessage("b", Evaluation(1));
  EXPECT_EQ(BodiesOf<protocol::TrainRequest>(next).size(), 3u);  // c is back for round 2
  ASSERT_EQ(loop_->records().size(), 1u);
  EXPECT_EQ(loop_->records()[0].dropped, std::vector<std::string>{"school-c"});
  // The record says who was there, who was asked, who answered, and why the others were dropped.
  EXPECT_EQ(loop_->records()[0].connected, 3u);
  EXPECT_EQ(loop_->records()[0].asked, 3u);
  EXPECT_EQ(loop_->records()[0].nodes, 2u);
  EXPECT_EQ(loop_->records()[0].dropped_by_reason, (std::map<std::string, size_t>{{"late", 1}}));
}

// A node whose establishment declines the run is asked nothing more in it; the others go on, and
// the reason is in the round's record, the run's status and the audit events.
TEST_F(RoundLoopTest, ANodeThatDeclinesIsAskedNothingMoreAndItsReasonIsKept) {
  Create(SmallRun());
  std::vector<LoopEvent> events;
  loop_->set_event_listener([&](const LoopEvent& event) { events.push_back(event); });
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnMessage("a", Update(1, 1.0f, 1));
  loop_->OnMessage("b", Update(1, 3.0f, 1));
  const std::string why = "the policy of this establishment allows at most 2 local epochs";
  std::vector<Outgoing> evaluate = loop_->OnMessage(
      "c", Envelope{42, 1, protocol::ErrorReply{protocol::kErrorDeclined, why, {}}});
  EXPECT_EQ(BodiesOf<protocol::EvaluateRequest>(evaluate).size(), 2u);
  loop_->OnMessage("a", Evaluation(1));
  std::vector<Outgoing> next = loop_->OnMessage("b", Evaluation(1));
  std::set<protocol::PeerId> asked;
  for (const Outgoing& o : next) {
    if (std::holds_alternative<protocol::TrainRequest>(o.envelope->body)) asked.insert(o.peer);
  }
  EXPECT_EQ(asked, (std::set<protocol::PeerId>{"a", "b"})) << "c declined: not asked again";
  ASSERT_EQ(loop_->records().size(), 1u);
  EXPECT_EQ(loop_->records()[0].dropped, std::vector<std::string>{"school-c"});
  EXPECT_EQ(loop_->records()[0].dropped_by_reason,
            (std::map<std::string, size_t>{{"declined", 1}}));
  ASSERT_EQ(loop_->records()[0].declined.count("school-c"), 1u);
  EXPECT_NE(loop_->records()[0].declined.at("school-c").find(why), std::string::npos);
  const RunSnapshot snapshot = loop_->Snapshot();
  ASSERT_EQ(snapshot.declined.count("school-c"), 1u);
  EXPECT_NE(snapshot.declined.at("school-c").find(why), std::string::npos);
  EXPECT_TRUE(loop_->excluded().contains("school-c"));
  const auto declined = std::count_if(events.begin(), events.end(), [](const LoopEvent& e) {
    return e.kind == LoopEvent::Kind::kNodeDeclined && e.node == "school-c";
  });
  EXPECT_EQ(declined, 1);
  // Another error (not a decline) only drops a node from its round, as before.
  loop_->OnMessage("a", Update(2, 1.0f, 1));
  loop_->OnMessage("b", Envelope{42, 2, protocol::ErrorReply{5, "out of memory", {}}});
  EXPECT_FALSE(loop_->excluded().contains("school-b"));
}

TEST_F(RoundLoopTest, FailsWhenTooFewUpdatesArrive) {
  RunConfig config = SmallRun();
  config.max_attempts = 1;
  Create(config);
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnMessage("a", Update(1, 1.0f, 1));
  clock_.Advance(std::chrono::seconds(6));
  std::vector<Outgoing> out = loop_->OnTick();
  EXPECT_TRUE(loop_->done());
  EXPECT_EQ(loop_->outcome().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(loop_->outcome().message().find("only 1 update"), std::string::npos);
  EXPECT_EQ(BodiesOf<protocol::Shutdown>(out).size(), 3u);
}

// Regression: a node killed between rounds was still joined when the next round started; its send
// failed at once, the round failed at once, and the retries came before the restarted node
// rejoined.
TEST_F(RoundLoopTest, AGoneNodeIsForgottenAndARetryWaitsForNodesToRejoin) {
  RunConfig config = SmallRun();
  config.min_nodes = 3;
  Create(config);
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnMessage("a", Update(1, 1.0f, 1));
  loop_->OnMessage("b", Update(1, 1.0f, 1));
  std::vector<Outgoing> out =
      loop_->OnUnreachable("c", UnavailableError("peer is no longer connected"));
  EXPECT_TRUE(out.empty()) << "too few updates: the attempt failed, and the next one waits";
  EXPECT_FALSE(loop_->done());
  EXPECT_EQ(loop_->Snapshot().stage, "retrying");
  EXPECT_EQ(loop_->Snapshot().nodes.size(), 2u) << "c's connection is gone";
  loop_->OnMessage("c2", HelloFrom("school-c"));  // c restarted
  clock_.Advance(std::chrono::seconds(5));
  std::vector<Outgoing> retry = loop_->OnTick();
  std::set<std::string> asked;
  for (const Outgoing& o : retry) {
    if (std::holds_alternative<protocol::TrainRequest>(o.envelope->body)) asked.insert(o.peer);
  }
  EXPECT_EQ(asked, (std::set<std::string>{"a", "b", "c2"}));
}

std::set<std::string> AskedToTrain(const std::vector<Outgoing>& out) {
  std::set<std::string> asked;
  for (const Outgoing& o : out) {
    if (std::holds_alternative<protocol::TrainRequest>(o.envelope->body)) asked.insert(o.peer);
  }
  return asked;
}

// A retry that finds too few nodes connected waits for joins, and starts as soon as there are
// enough.
TEST_F(RoundLoopTest, ARetryShortOfNodesWaitsForOneToJoin) {
  RunConfig config = SmallRun();
  config.min_nodes = 3;
  Create(config);
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnUnreachable("c", UnavailableError("peer is no longer connected"));
  clock_.Advance(
      std::chrono::seconds(5));  // a and b send nothing: the attempt fails at its deadline
  loop_->OnTick();
  EXPECT_EQ(loop_->Snapshot().stage, "retrying");
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_TRUE(AskedToTrain(loop_->OnTick()).empty());
  EXPECT_EQ(loop_->Snapshot().stage, "waiting for nodes");
  clock_.Advance(std::chrono::seconds(9));
  EXPECT_TRUE(AskedToTrain(loop_->OnTick()).empty());
  EXPECT_FALSE(loop_->done()) << "the join timeout (10 s) has not passed since the wait began";
  EXPECT_EQ(AskedToTrain(loop_->OnMessage("c2", HelloFrom("school-c"))),
            (std::set<std::string>{"a", "b", "c2"}));
}

TEST_F(RoundLoopTest, ARetryShortOfNodesFailsTheRunAfterTheJoinTimeout) {
  RunConfig config = SmallRun();
  config.min_nodes = 3;
  Create(config);
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnUnreachable("c", UnavailableError("peer is no longer connected"));
  clock_.Advance(std::chrono::seconds(5));  // the attempt fails at its deadline
  loop_->OnTick();
  clock_.Advance(std::chrono::seconds(5));  // the retry finds two nodes, and waits
  loop_->OnTick();
  clock_.Advance(std::chrono::seconds(11));
  std::vector<Outgoing> out = loop_->OnTick();
  EXPECT_TRUE(loop_->done());
  EXPECT_EQ(loop_->outcome().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(loop_->outcome().message().find("only 2 node(s) can take part"), std::string::npos)
      << loop_->outcome();
  EXPECT_EQ(BodiesOf<protocol::Shutdown>(out).size(), 2u);
}

// Regression: in a secure run with min_nodes 2, a node that restarted mid-round left a cohort of
// two, too few for secure aggregation; planning the retry failed, and that ended the run before the
// node was back. Too small for secure aggregation is short of nodes, as below min_nodes is.
TEST_F(RoundLoopTest, ASecureRetryTooSmallToMaskWaitsForARestartedNode) {
  RunConfig config = SmallRun();
  config.secagg.enabled = true;
  Create(config);
  for (const char* p : {"a", "b", "c"}) Join(p);
  loop_->OnUnreachable("c", UnavailableError("peer is no longer connected"));
  clock_.Advance(std::chrono::seconds(5));  // a and b never advertise keys: the attempt fails
  loop_->OnTick();
  ASSERT_FALSE(loop_->done()) << loop_->outcome();
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_TRUE(AskedToTrain(loop_->OnTick()).empty());
  ASSERT_FALSE(loop_->done()) << loop_->outcome();
  EXPECT_EQ(loop_->Snapshot().stage, "waiting for nodes");
  EXPECT_EQ(AskedToTrain(loop_->OnMessage("c2", HelloFrom("school-c"))),
            (std::set<std::string>{"a", "b", "c2"}));
}

TEST_F(RoundLoopTest, JoinDeadlineWithTooFewNodesFailsTheRun) {
  Create(SmallRun());
  Join("a");
  clock_.Advance(std::chrono::seconds(11));
  loop_->OnTick();
  EXPECT_TRUE(loop_->done());
  EXPECT_EQ(loop_->outcome().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(loop_->outcome().message().find("only 1 node(s) joined"), std::string::npos);
}

TEST_F(RoundLoopTest, JoinDeadlineWithEnoughNodesStarts) {
  Create(SmallRun());
  Join("a");
  Join("b");
  clock_.Advance(std::chrono::seconds(11));
  EXPECT_EQ(BodiesOf<protocol::TrainRequest>(loop_->OnTick()).size(), 2u);
}

TEST_F(RoundLoopTest, IgnoresStrangersWrongRunsAndBadUpdates) {
  Create(SmallRun());
  for (const char* p : {"a", "b", "c"}) Join(p);
  auto to_stranger = loop_->OnMessage("stranger", Update(1, 9.0f, 1));
  ASSERT_EQ(to_stranger.size(), 1u);  // only "say hello"; its update is not counted
  EXPECT_EQ(BodiesOf<protocol::ErrorReply>(to_stranger).size(), 1u);
  Envelope other_run = Update(1, 9.0f, 1);
  other_run.run_id = 7;
  EXPECT_TRUE(loop_->OnMessage("a", other_run).empty());
  protocol::TrainResult short_update{{1.0f, 1.0f, 1.0f}};
  loop_->OnMessage("a", Envelope{42, 1, short_update});  // wrong dimension: a is dropped
  loop_->OnMessage("b", Update(1, 1.0f, 1));
  std::vector<Outgoing> out = loop_->OnMessage("c", Update(1, 3.0f, 1));
  EXPECT_EQ(BodiesOf<protocol::EvaluateRequest>(out).size(), 2u);
  for (float v : loop_->global_model()) EXPECT_NEAR(v, 2.0f, 1e-5);
}

// Regression: a weight of 1e308 with deltas of 1e30 overflowed the sum, and a NaN loss was
// accepted.
TEST_F(RoundLoopTest, AbsurdValuesInAPlainRunDropTheirSenderAndNeverEnterTheSum) {
  RunConfig config = SmallRun();
  config.expected_nodes = 4;
  Create(config);
  for (const char* p : {"a", "b", "c", "d"}) Join(p);
  protocol::TrainResult absurd = PackedUpdate(9, 1.0f, 10, 0.5);
  absurd.contribution[0] = 1e30f;
  absurd.contribution[9] = 1e30f;
  loop_->OnMessage("a", Envelope{42, 1, absurd});
  protocol::TrainResult nan_loss = PackedUpdate(9, 1.0f, 10, 0.5);
  nan_loss.contribution[10] = std::nanf("");
  loop_->OnMessage("b", Envelope{42, 1, nan_loss});
  loop_->OnMessage("c", Update(1, 2.0f, 10));
  std::vector<Outgoing> out = loop_->OnMessage("d", Update(1, 2.0f, 30));
  EXPECT_EQ(BodiesOf<protocol::EvaluateRequest>(out).size(), 2u);
  for (float v : loop_->global_model()) EXPECT_NEAR(v, 2.0f, 1e-5);
}

// Regression: an EvaluateResult claiming AUC 1.0 with a log-loss of −2.6e296 was added to the
// total.
TEST_F(RoundLoopTest, ImpossibleEvaluationStatisticsDropTheirSender) {
  Create(SmallRun());
  for (const char* p : {"a", "b", "c"}) Join(p);
  for (const char* p : {"a", "b", "c"}) loop_->OnMessage(p, Update(1, 0.5f, 10));
  Envelope forged = Evaluation(1);
  std::get<protocol::EvaluateResult>(forged.body).all.log_loss_sum = -2.6e296;
  loop_->OnMessage("a", forged);
  loop_->OnMessage("b", Evaluation(1));
  loop_->OnMessage("c", Evaluation(1));
  ASSERT_EQ(loop_->records().size(), 1u);
  const RoundRecord& r = loop_->records()[0];
  EXPECT_EQ(r.evaluated, 4u) << "only b's and c's answers";
  ASSERT_TRUE(r.log_loss.has_value());
  EXPECT_GT(*r.log_loss, 0);
  EXPECT_EQ(r.dropped, std::vector<std::string>{"school-a"});
}

// The last round of a run with fairness asks each node for its subgroups; a node whose subgroups
// are not the ones asked for, or hold more pupils than all of its answers, is dropped from the
// evaluation, and the table is the others'. Earlier rounds ask for none.
TEST_F(RoundLoopTest, SubgroupStatisticsNoEvaluationGivesDropTheirSender) {
  RunConfig config = SmallRun();
  config.rounds = 1;
  config.fairness = {{"gender", {"F", "M"}}};
  config.min_group_pupils = 1;
  config.expected_nodes = 4;
  Create(config);
  for (const char* p : {"a", "b", "c", "d"}) Join(p);
  std::vector<Outgoing> asked;
  for (const char* p : {"a", "b", "c", "d"}) {
    std::vector<Outgoing> out = loop_->OnMessage(p, Update(1, 0.5f, 10));
    asked.insert(asked.end(), out.begin(), out.end());
  }
  const auto requests = BodiesOf<protocol::EvaluateRequest>(asked);
  ASSERT_FALSE(requests.empty());
  ASSERT_EQ(requests[0]->groups.size(), 1u);
  EXPECT_EQ(requests[0]->groups[0].values, (std::vector<std::string>{"F", "M"}));
  EXPECT_EQ(requests[0]->min_group_pupils, 1u);
  auto with_groups = [](Envelope e) {
    auto& r = std::get<protocol::EvaluateResult>(e.body);
    protocol::WireGroupStatistics none = r.all;
    std::fill(none.positive_histogram.begin(), none.positive_histogram.end(), 0);
    std::fill(none.negative_histogram.begin(), none.negative_histogram.end(), 0);
    none.correct = none.count = none.pupils = 0;
    none.log_loss_sum = none.squared_error_sum = 0;
    r.groups = {r.all, none};  // every pupil F
    return e;
  };
  Envelope missing = Evaluation(1);  // no subgroups at all
  Envelope inflated = with_groups(Evaluation(1));
  std::get<protocol::EvaluateResult>(inflated.body).groups[0].pupils = 5;  // more than its 2
  loop_->OnMessage("a", missing);
  loop_->OnMessage("b", inflated);
  loop_->OnMessage("c", with_groups(Evaluation(1)));
  loop_->OnMessage("d", with_groups(Evaluation(1)));
  ASSERT_EQ(loop_->records().size(), 1u);
  const RoundRecord& r = loop_->records()[0];
  EXPECT_EQ(r.dropped, (std::vector<std::string>{"school-a", "school-b"}));
  ASSERT_TRUE(r.fairness.has_value());
  ASSERT_EQ(r.fairness->rows.size(), 2u);
  EXPECT_EQ(r.fairness->rows[0].pupils, 4u) << "c's and d's";
  EXPECT_TRUE(r.fairness->rows[1].suppressed) << "M: nobody";
}

TEST_F(RoundLoopTest, StopShutsEveryoneDownAsCancelled) {
  Create(SmallRun());
  for (const char* p : {"a", "b"}) Join(p);
  std::vector<Outgoing> out = loop_->Stop("operator pressed Ctrl-C");
  EXPECT_EQ(BodiesOf<protocol::Shutdown>(out).size(), 2u);
  EXPECT_EQ(loop_->outcome().code(), StatusCode::kCancelled);
  EXPECT_TRUE(loop_->Stop("again").empty());
}

TEST_F(RoundLoopTest, StrangersAreAskedToSayHelloAndHeartbeatsAreAnswered) {
  Create(SmallRun());
  auto reply = loop_->OnMessage("stranger", Envelope{0, 0, protocol::Heartbeat{}});
  ASSERT_EQ(BodiesOf<protocol::ErrorReply>(reply).size(), 1u);
  EXPECT_EQ(BodiesOf<protocol::ErrorReply>(reply)[0]->code, protocol::kErrorNotJoined);
  Join("a");
  auto ack = loop_->OnMessage("a", Envelope{0, 0, protocol::Heartbeat{}});
  EXPECT_EQ(BodiesOf<protocol::Heartbeat>(ack).size(), 1u);
}

TEST_F(RoundLoopTest, SilentNodesAreForgottenAndLiveOnesKept) {
  RunConfig config = SmallRun();
  config.expected_nodes = 0;  // start at the join deadline
  config.join_timeout = std::chrono::seconds(100);
  config.node_timeout = std::chrono::seconds(30);
  Create(config);
  Join("a");
  Join("b");
  Join("c");
  clock_.Advance(std::chrono::seconds(20));
  loop_->OnMessage("a", Envelope{0, 0, protocol::Heartbeat{}});
  loop_->OnMessage("b", Envelope{0, 0, protocol::Heartbeat{}});
  clock_.Advance(std::chrono::seconds(15));    // c silent for 35 s
  for (const Outgoing& o : loop_->OnTick()) {  // heartbeats only, and none to the forgotten node
    EXPECT_TRUE(std::holds_alternative<protocol::Heartbeat>(o.envelope->body));
    EXPECT_NE(o.peer, "c");
  }
  auto after_forget = loop_->OnMessage("c", Envelope{0, 0, protocol::Heartbeat{}});
  EXPECT_EQ(BodiesOf<protocol::ErrorReply>(after_forget).size(), 1u);
  clock_.Advance(std::chrono::seconds(70));
  loop_->OnMessage("a", Envelope{0, 0, protocol::Heartbeat{}});
  loop_->OnMessage("b", Envelope{0, 0, protocol::Heartbeat{}});
  EXPECT_EQ(BodiesOf<protocol::TrainRequest>(loop_->OnTick()).size(), 2u);
}

TEST_F(RoundLoopTest, ANodeThatReconnectsReplacesItsDeadConnection) {
  Create(SmallRun());
  for (const char* p : {"a", "b", "c"}) Join(p);
  // "c" restarts: same name, new connection, mid-stage.
  loop_->OnMessage("c-new", HelloFrom("school-c"));
  loop_->OnMessage("a", Update(1, 1.0f, 1));
  std::vector<Outgoing> evaluate = loop_->OnMessage("b", Update(1, 3.0f, 1));
  EXPECT_EQ(BodiesOf<protocol::EvaluateRequest>(evaluate).size(), 2u);  // no wait for the dead one
  loop_->OnMessage("a", Evaluation(1));
  std::vector<Outgoing> next = loop_->OnMessage("b", Evaluation(1));
  std::set<std::string> peers;
  for (const Outgoing& o : next) peers.insert(o.peer);
  EXPECT_EQ(peers, (std::set<std::string>{"a", "b", "c-new"}));
  EXPECT_EQ(loop_->records()[0].dropped, std::vector<std::string>{"school-c"});
}

TEST_F(RoundLoopTest, AnAuthenticatedNodeMustUseItsAllowListName) {
  Create(SmallRun());
  auto refused = loop_->OnMessage("x", HelloFrom("lycee-b"), {"lycee-a", std::nullopt});
  ASSERT_EQ(BodiesOf<protocol::ErrorReply>(refused).size(), 1u);
  EXPECT_EQ(BodiesOf<protocol::ErrorReply>(refused)[0]->code,
            static_cast<uint32_t>(StatusCode::kPermissionDenied));
  // Not registered: its heartbeat is answered with "say hello".
  auto after =
      loop_->OnMessage("x", Envelope{0, 0, protocol::Heartbeat{}}, {"lycee-a", std::nullopt});
  EXPECT_EQ(BodiesOf<protocol::ErrorReply>(after)[0]->code, protocol::kErrorNotJoined);
  EXPECT_TRUE(loop_->OnMessage("x", HelloFrom("lycee-a"), {"lycee-a", std::nullopt}).empty());
}

TEST(RoundLoopConfigTest, RefusesInvalidConfigs) {
  ManualClock clock;
  RunConfig config = SmallRun();
  config.rounds = 0;
  EXPECT_FALSE(RoundLoop::Create(config, clock).ok());
  config = SmallRun();
  config.expected_nodes = 1;
  EXPECT_FALSE(RoundLoop::Create(config, clock).ok());
  config = SmallRun();
  config.strategy = "fedmagic";
  EXPECT_NE(RoundLoop::Create(config, clock).status().message().find("unknown strategy"),
            std::string::npos);
  config = SmallRun();
  config.model.num_skills = 0;
  EXPECT_FALSE(RoundLoop::Create(config, clock).ok());
}

}  // namespace
}  // namespace cartable::coordinator
