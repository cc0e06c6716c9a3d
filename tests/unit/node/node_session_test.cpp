#include "node/node_session.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "exchange/contribution.h"
#include "models/metrics.h"
#include "models/model.h"

namespace models = ::cartable::models;
namespace protocol = ::cartable::protocol;
namespace exchange = ::cartable::exchange;
using ::cartable::node::LocalTrainingSeed;
using ::cartable::node::NodeSession;
using ::testing::HasSubstr;

namespace {

// These tests look at the plain update path; secure rounds are tested in secure_update_test.cpp and
// in tests/integration/.
::cartable::node::NodeSecurity PlainUpdates() {
  ::cartable::node::NodeSecurity security;
  security.allow_plain_updates = true;
  return security;
}

constexpr uint32_t kSkills = 4;
constexpr uint64_t kRun = 0x1234;

models::InteractionLog RandomLog(int pupils, int answers, const std::string& prefix,
                                 uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<uint32_t> skill(0, kSkills - 1);
  std::bernoulli_distribution right(0.6);
  models::InteractionLog log;
  log.num_skills = kSkills;
  for (int p = 0; p < pupils; ++p) {
    log.pupil_keys.push_back(prefix + std::to_string(p));
    for (int i = 0; i < answers; ++i) {
      log.interactions.push_back(
          {static_cast<uint32_t>(p), skill(rng), static_cast<uint8_t>(right(rng))});
    }
  }
  return log;
}

models::PupilSplit SmallSplit() {
  return {RandomLog(12, 9, "train-", 1), RandomLog(5, 7, "test-", 2)};
}

std::vector<float> FreshParameters(uint32_t skills = kSkills) {
  models::ModelSpec spec;
  spec.num_skills = skills;
  auto model = models::CreateModel(spec);
  EXPECT_TRUE(model.ok());
  return model.ok() ? (*model)->GetParameters() : std::vector<float>{};
}

protocol::WireTrainConfig Config() {
  protocol::WireTrainConfig config;
  config.local_epochs = 2;
  config.batch_size = 8;
  config.learning_rate = 0.05f;
  config.seed = 99;
  return config;
}

protocol::Envelope TrainMessage(uint64_t run, uint32_t round, uint32_t skills = kSkills) {
  return {run, round, protocol::TrainRequest{{"pfa", skills}, Config(), FreshParameters(skills)}};
}

protocol::Envelope EvaluateMessage(uint64_t run, uint32_t round, std::vector<float> parameters) {
  return {run, round, protocol::EvaluateRequest{{"pfa", kSkills}, std::move(parameters)}};
}

// A node evaluates only in a round it trained in: the round's TrainRequest first, then `request`.
std::vector<protocol::Envelope> TrainThenEvaluate(NodeSession& session,
                                                  const protocol::Envelope& request) {
  EXPECT_EQ(session.OnMessage(TrainMessage(request.run_id, request.round)).size(), 1u);
  return session.OnMessage(request);
}

TEST(LocalTrainingSeedTest, DependsOnRunSeedRoundAndName) {
  const uint64_t base = LocalTrainingSeed(1, 2, "school-a");
  EXPECT_EQ(base, LocalTrainingSeed(1, 2, "school-a"));
  EXPECT_NE(base, LocalTrainingSeed(2, 2, "school-a"));
  EXPECT_NE(base, LocalTrainingSeed(1, 3, "school-a"));
  EXPECT_NE(base, LocalTrainingSeed(1, 2, "school-b"));
}

TEST(NodeSessionTest, HelloCarriesTheName) {
  NodeSession session("lycee-victor-hugo", SmallSplit(), PlainUpdates());
  EXPECT_EQ(session.name(), "lycee-victor-hugo");
  const protocol::Envelope hello = session.Hello();
  const auto* body = std::get_if<protocol::Hello>(&hello.body);
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(body->node_name, "lycee-victor-hugo");
  EXPECT_FALSE(session.finished());
}

TEST(NodeSessionTest, TrainResultIsTheDeltaOfAReproducibleLocalTraining) {
  NodeSession session("school-a", SmallSplit(), PlainUpdates());
  session.Hello();
  const uint32_t round = 3;
  const protocol::Envelope request = TrainMessage(kRun, round);
  const auto& train_request = std::get<protocol::TrainRequest>(request.body);
  const std::vector<protocol::Envelope> replies = session.OnMessage(request);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].run_id, kRun);
  EXPECT_EQ(replies[0].round, round);
  const auto* result = std::get_if<protocol::TrainResult>(&replies[0].body);
  ASSERT_NE(result, nullptr) << "reply type " << replies[0].body.index();

  // Recompute the node's update with a separate model.
  models::ModelSpec spec;
  spec.name = "pfa";
  spec.num_skills = kSkills;
  auto model = models::CreateModel(spec);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE((*model)->SetParameters(train_request.global_parameters).ok());
  models::TrainOptions options;
  options.epochs = static_cast<int>(train_request.config.local_epochs);
  options.batch_size = static_cast<int>(train_request.config.batch_size);
  options.learning_rate = train_request.config.learning_rate;
  options.seed = LocalTrainingSeed(train_request.config.seed, round, "school-a");
  auto report = (*model)->Train(session.data().train, options);
  ASSERT_TRUE(report.ok()) << report.status();
  const std::vector<float> local = (*model)->GetParameters();

  // The reply is that update, packed as the round asks (exchange/contribution.h).
  exchange::LocalUpdate expected;
  for (size_t i = 0; i < local.size(); ++i)
    expected.delta.push_back(local[i] - train_request.global_parameters[i]);
  expected.examples = 12.0 * 9.0;
  expected.loss = report->mean_loss;
  ASSERT_EQ(session.data().train.size(), 12u * 9u);
  auto layout =
      exchange::ContributionLayout::Create(local.size(), train_request.contribution.value_range,
                                           train_request.contribution.weight_cap)
          .value();
  EXPECT_EQ(result->contribution, layout.Pack(expected).value());
  bool any_nonzero = false;
  for (float d : expected.delta) any_nonzero |= d != 0;
  EXPECT_TRUE(any_nonzero);
}

TEST(NodeSessionTest, ARepeatedOrOlderRoundGetsNoReply) {
  NodeSession session("school-a", SmallSplit(), PlainUpdates());
  session.Hello();
  ASSERT_EQ(session.OnMessage(TrainMessage(kRun, 2)).size(), 1u);
  EXPECT_TRUE(session.OnMessage(TrainMessage(kRun, 2)).empty());
  EXPECT_TRUE(session.OnMessage(TrainMessage(kRun, 1)).empty());
  EXPECT_EQ(session.OnMessage(TrainMessage(kRun, 3)).size(), 1u);
}

TEST(NodeSessionTest, AnotherRunGetsNoReplyUntilTheNextHello) {
  NodeSession session("school-a", SmallSplit(), PlainUpdates());
  session.Hello();
  ASSERT_EQ(session.OnMessage(TrainMessage(kRun, 1)).size(), 1u);
  EXPECT_TRUE(session.OnMessage(TrainMessage(kRun + 1, 2)).empty());
  EXPECT_TRUE(session.OnMessage(EvaluateMessage(kRun + 1, 2, FreshParameters())).empty());
  session.Hello();  // e.g. the coordinator restarted and starts a new run, from round 1 again
  const auto replies = session.OnMessage(TrainMessage(kRun + 1, 1));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].run_id, kRun + 1);
  EXPECT_TRUE(std::holds_alternative<protocol::TrainResult>(replies[0].body));
}

// Regression: a coordinator restarted with the same run id starts again at round 1; the node took
// rounds 1 to 3 for repeats of what it had answered and the run failed with no member advertising.
TEST(NodeSessionTest, ANodeFollowsACoordinatorThatRestartsTheSameRun) {
  NodeSession session("school-a", SmallSplit(), PlainUpdates());
  session.Hello();
  for (uint32_t round = 1; round <= 3; ++round)
    ASSERT_EQ(session.OnMessage(TrainMessage(kRun, round)).size(), 1u);
  // The restarted coordinator does not know the node, which says Hello again.
  const auto hello = session.OnMessage(
      {kRun, 0, protocol::ErrorReply{protocol::kErrorNotJoined, "say hello", {}}});
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::Hello>(hello[0].body));
  const auto replies = session.OnMessage(TrainMessage(kRun, 1));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::TrainResult>(replies[0].body));
  EXPECT_TRUE(session.OnMessage(TrainMessage(kRun, 1)).empty())
      << "a repeat after that is still a repeat";
}

TEST(NodeSessionTest, EvaluateResultCountsTheHeldOutAnswers) {
  NodeSession session("school-b", SmallSplit(), PlainUpdates());
  session.Hello();
  std::vector<float> parameters = FreshParameters();
  for (size_t i = 0; i < parameters.size(); ++i)
    parameters[i] = 0.1f * static_cast<float>(i % 5) - 0.2f;
  const auto replies = TrainThenEvaluate(session, EvaluateMessage(kRun, 1, parameters));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].round, 1u);
  const auto* result = std::get_if<protocol::EvaluateResult>(&replies[0].body);
  ASSERT_NE(result, nullptr);
  const models::InteractionLog& test = session.data().test;
  EXPECT_EQ(result->all.count, test.size());
  EXPECT_EQ(result->all.count, 5u * 7u);
  const uint64_t positives = std::accumulate(result->all.positive_histogram.begin(),
                                             result->all.positive_histogram.end(), uint64_t{0});
  const uint64_t negatives = std::accumulate(result->all.negative_histogram.begin(),
                                             result->all.negative_histogram.end(), uint64_t{0});
  EXPECT_EQ(positives + negatives, result->all.count);
  const std::vector<uint8_t> labels = models::Labels(test);
  EXPECT_EQ(positives, static_cast<uint64_t>(std::accumulate(labels.begin(), labels.end(), 0)));
  EXPECT_LE(result->all.correct, result->all.count);
  EXPECT_GT(result->all.log_loss_sum, 0.0);
  // A repeated evaluation of the same round gets no reply.
  EXPECT_TRUE(session.OnMessage(EvaluateMessage(kRun, 1, parameters)).empty());
}

TEST(NodeSessionTest, TheSameParametersAreEvaluatedOnceARun) {
  NodeSession session("school-b", SmallSplit(), PlainUpdates());
  session.Hello();
  const std::vector<float> parameters = FreshParameters();
  ASSERT_EQ(TrainThenEvaluate(session, EvaluateMessage(kRun, 1, parameters)).size(), 1u);
  // The same model again, in a later attempt: two sums over cohorts that differ by one school
  // would give that school's figures away.
  const auto again = TrainThenEvaluate(session, EvaluateMessage(kRun, 2, parameters));
  ASSERT_EQ(again.size(), 1u);
  const auto* error = std::get_if<protocol::ErrorReply>(&again[0].body);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, static_cast<uint32_t>(cartable::StatusCode::kPermissionDenied));
  EXPECT_THAT(error->message, ::testing::HasSubstr("already evaluated these parameters"));
  // Other parameters are evaluated.
  std::vector<float> other = parameters;
  other[0] += 0.5f;
  const auto next = TrainThenEvaluate(session, EvaluateMessage(kRun, 3, other));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::EvaluateResult>(next[0].body));
}

// An evaluation request that follows no training of this node in the same round, or asks for
// another model than the one it trained (which its plan policy accepted), is refused.
TEST(NodeSessionTest, ANodeEvaluatesOnlyTheModelItTrainedInTheSameRound) {
  NodeSession session("school-e", SmallSplit(), PlainUpdates());
  session.Hello();
  auto refused = [](const std::vector<protocol::Envelope>& replies, const char* why) {
    ASSERT_EQ(replies.size(), 1u);
    const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body);
    ASSERT_NE(error, nullptr);
    EXPECT_THAT(error->message, HasSubstr(why));
  };
  refused(session.OnMessage(EvaluateMessage(kRun, 1, FreshParameters())), "no part in round 1");
  ASSERT_EQ(session.OnMessage(TrainMessage(kRun, 2)).size(), 1u);
  refused(session.OnMessage(EvaluateMessage(kRun, 3, FreshParameters())), "no part in round 3");
  ASSERT_EQ(session.OnMessage(TrainMessage(kRun, 4)).size(), 1u);
  protocol::Envelope other = EvaluateMessage(kRun, 4, FreshParameters());
  std::get<protocol::EvaluateRequest>(other.body).model.options = {{"hidden_size", "8"}};
  refused(session.OnMessage(other), "other settings");
  ASSERT_EQ(session.OnMessage(TrainMessage(kRun, 5)).size(), 1u);
  const auto ok = session.OnMessage(EvaluateMessage(kRun, 5, FreshParameters()));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::EvaluateResult>(ok[0].body));
}

TEST(NodeSessionTest, EvaluationStatisticsAreNotSentInTheClearWithoutConsent) {
  NodeSession session("school-b", SmallSplit(), ::cartable::node::NodeSecurity{});
  session.Hello();
  const auto replies = session.OnMessage(EvaluateMessage(kRun, 1, FreshParameters()));
  ASSERT_EQ(replies.size(), 1u);
  const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body);
  ASSERT_NE(error, nullptr);
  EXPECT_THAT(error->message, ::testing::HasSubstr("only under secure aggregation"));
}

// A run that asks for subgroups gets each one's statistics, found through the pupils' keys in the
// attributes the node was given; subgroups it cannot hold are refused before anything is evaluated.
TEST(NodeSessionTest, EvaluatesEachSubgroupItIsAskedForAndRefusesMalformedOnes) {
  auto attributes = std::make_shared<models::PupilAttributes>();
  for (int p = 0; p < 5; ++p)
    (*attributes)["gender"]["test-" + std::to_string(p)] = p < 2 ? "F" : "M";
  NodeSession session("school-f", SmallSplit(), PlainUpdates(), attributes);
  std::vector<::cartable::node::AuditNote> reported;
  session.ReportEvaluationsTo(
      [&reported](const ::cartable::node::AuditNote& note) { reported.push_back(note); });
  session.Hello();
  protocol::Envelope request = EvaluateMessage(kRun, 1, FreshParameters());
  auto& evaluate = std::get<protocol::EvaluateRequest>(request.body);
  evaluate.groups = {{"gender", {"F", "M", "X"}}};
  evaluate.min_group_pupils = 10;
  auto replies = TrainThenEvaluate(session, request);
  ASSERT_EQ(replies.size(), 1u);
  const auto* result = std::get_if<protocol::EvaluateResult>(&replies[0].body);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(result->all.pupils, 5u);
  EXPECT_EQ(result->all.count, 35u);
  ASSERT_EQ(result->groups.size(), 3u);
  EXPECT_EQ(result->groups[0].pupils, 2u);
  EXPECT_EQ(result->groups[0].count, 14u);
  EXPECT_EQ(result->groups[1].pupils, 3u);
  EXPECT_EQ(result->groups[2].pupils, 0u);  // a value none of its pupils has
  // The school's own report: its figures, and its subgroups (2 and 3 pupils, under the run's 10)
  // suppressed there too.
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].event, "evaluated_here");
  EXPECT_EQ(reported[0].data["answers"], 35);
  EXPECT_EQ(reported[0].data["pupils"], 5);
  EXPECT_TRUE(reported[0].data["auc"].is_number());
  const auto& rows = reported[0].data["fairness"]["rows"];
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    EXPECT_TRUE(row["suppressed"].get<bool>()) << row;
    EXPECT_FALSE(row.contains("pupils")) << row;
  }

  // Refused before anything is evaluated: a malformed list; an attribute the node does not hold,
  // or values that leave some of its pupils out (all minus the listed subgroups would be them).
  for (const auto& [groups, why] :
       std::vector<std::pair<std::vector<protocol::WireAttribute>, std::string>>{
           {{{"gender", {"F", "F"}}}, "twice"},
           {{{"gender", {"F\n", "M"}}}, "control character"},
           {{{"age_band", {"0-35"}}}, "does not hold"},
           {{{"gender", {"F"}}}, "3 of this school's held-out pupils"}}) {
    request.round += 1;
    evaluate.parameters[0] += 1;  // other parameters, so the once-a-run rule does not answer first
    evaluate.groups = groups;
    replies = session.OnMessage(request);
    ASSERT_EQ(replies.size(), 1u) << why;
    const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body);
    ASSERT_NE(error, nullptr) << why;
    EXPECT_THAT(error->message, HasSubstr(why));
  }
}

TEST(NodeSessionTest, AModelWithFewerSkillsThanTheDataIsAnError) {
  NodeSession session("school-c", SmallSplit(), PlainUpdates());
  session.Hello();
  const auto replies = session.OnMessage(TrainMessage(kRun, 1, kSkills - 2));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].run_id, kRun);
  const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, static_cast<uint32_t>(cartable::StatusCode::kInvalidArgument));
  EXPECT_THAT(error->message, HasSubstr("skills"));
}

// FedProx and norm bounding as the round asks: the reply is the update of a proximal training,
// packed under the norm bound.
TEST(NodeSessionTest, TrainsWithTheRoundsProximalTermAndBoundsTheUpdatesNorm) {
  NodeSession session("school-a", SmallSplit(), PlainUpdates());
  session.Hello();
  protocol::Envelope request = TrainMessage(kRun, 1);
  auto& train_request = std::get<protocol::TrainRequest>(request.body);
  train_request.proximal_mu = 0.5f;
  train_request.contribution.max_norm = 0.01;
  const auto replies = session.OnMessage(request);
  ASSERT_EQ(replies.size(), 1u);
  const auto* result = std::get_if<protocol::TrainResult>(&replies[0].body);
  ASSERT_NE(result, nullptr) << "reply type " << replies[0].body.index();

  models::ModelSpec spec;
  spec.num_skills = kSkills;
  auto model = models::CreateModel(spec).value();
  ASSERT_TRUE(model->SetParameters(train_request.global_parameters).ok());
  models::TrainOptions options;
  options.epochs = 2;
  options.batch_size = 8;
  options.learning_rate = 0.05;
  options.seed = LocalTrainingSeed(99, 1, "school-a");
  options.proximal_mu = 0.5f;
  auto report = model->Train(session.data().train, options);
  ASSERT_TRUE(report.ok()) << report.status();
  exchange::LocalUpdate expected;
  const std::vector<float> local = model->GetParameters();
  for (size_t i = 0; i < local.size(); ++i)
    expected.delta.push_back(local[i] - train_request.global_parameters[i]);
  expected.examples = 12.0 * 9.0;
  expected.loss = report->mean_loss;
  auto layout = exchange::ContributionLayout::For(local.size(), train_request.contribution).value();
  exchange::PackNotes notes;
  // Equal up to float rounding: the proximal training repeated here on a second model instance
  // was seen (Debian 12's libtorch 1.13, OpenBLAS) to end one value of 15 an ulp away from the
  // node's, and scaling to the bound keeps that ulp.
  const std::vector<float> packed = layout.Pack(expected, &notes).value();
  ASSERT_EQ(result->contribution.size(), packed.size());
  for (size_t i = 0; i < packed.size(); ++i) {
    EXPECT_NEAR(result->contribution[i], packed[i], 1e-6 * std::abs(packed[i]) + 1e-12) << i;
  }
  EXPECT_TRUE(notes.norm_bounded) << "a norm of " << notes.norm << " under the bound 0.01";
  EXPECT_TRUE(layout.CheckPacked(result->contribution).ok());
}

// A hostile coordinator's μ is refused with an error, not fed to training.
TEST(NodeSessionTest, ANegativeOrNonFiniteProximalMuIsRefused) {
  for (float mu : {-1.0f, std::nanf(""), std::numeric_limits<float>::infinity()}) {
    NodeSession session("school-c", SmallSplit(), PlainUpdates());
    session.Hello();
    protocol::Envelope request = TrainMessage(kRun, 1);
    std::get<protocol::TrainRequest>(request.body).proximal_mu = mu;
    const auto replies = session.OnMessage(request);
    ASSERT_EQ(replies.size(), 1u) << mu;
    const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body);
    ASSERT_NE(error, nullptr) << mu;
    EXPECT_EQ(error->code, static_cast<uint32_t>(cartable::StatusCode::kInvalidArgument));
    EXPECT_THAT(error->message, HasSubstr("proximal term"));
  }
}

TEST(NodeSessionTest, ShutdownFinishesTheSession) {
  NodeSession session("school-d", SmallSplit(), PlainUpdates());
  session.Hello();
  EXPECT_TRUE(session.OnMessage({kRun, 1, protocol::Shutdown{"run complete"}}).empty());
  EXPECT_TRUE(session.finished());
  EXPECT_EQ(session.finish_reason(), "run complete");
  EXPECT_TRUE(session.OnMessage(TrainMessage(kRun, 2)).empty());
}

TEST(NodeSessionTest, NotJoinedErrorTriggersAHello) {
  NodeSession session("school-e", SmallSplit(), PlainUpdates());
  const auto replies =
      session.OnMessage({kRun, 0, protocol::ErrorReply{protocol::kErrorNotJoined, "who are you?"}});
  ASSERT_EQ(replies.size(), 1u);
  const auto* hello = std::get_if<protocol::Hello>(&replies[0].body);
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->node_name, "school-e");
  EXPECT_TRUE(session.OnMessage({kRun, 0, protocol::Heartbeat{}}).empty());
}

}  // namespace
