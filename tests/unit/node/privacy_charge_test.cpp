// A node asked to train with DP-SGD charges the run's ε to its privacy ledger before training, and
// declines, with the reason, what would break its policy's caps.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "exchange/contribution.h"
#include "exchange/establishment_dp_wire.h"
#include "exchange/pupil_dp_wire.h"
#include "node/audit_trail.h"
#include "node/node_session.h"

namespace cartable::node {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr uint32_t kSkills = 3;

models::InteractionLog Pupils(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  models::InteractionLog log;
  log.num_skills = kSkills;
  for (int p = 0; p < count; ++p) {
    log.pupil_keys.push_back("pupil-" + std::to_string(p));
    for (int i = 0; i < 6; ++i) {
      log.interactions.push_back({static_cast<uint32_t>(p), static_cast<uint32_t>(rng() % kSkills),
                                  static_cast<uint8_t>(rng() % 2)});
    }
  }
  return log;
}

protocol::TrainRequest DpRequest(uint32_t rounds, double noise, uint8_t plan_byte = 1) {
  protocol::TrainRequest request;
  request.model = {"pfa", kSkills};
  auto model = models::CreateModel(models::ModelSpec{.num_skills = kSkills});
  EXPECT_TRUE(model.ok());
  request.global_parameters = (*model)->GetParameters();
  request.config.local_epochs = 1;
  request.config.batch_size = 8;
  request.config.learning_rate = 0.05F;
  request.dp = {.enabled = 1,
                .noise_multiplier = noise,
                .clip_norm = 1,
                .sampling_rate = 0.5,
                .delta = 1e-5,
                .rounds = rounds};
  request.plan_hash.fill(plan_byte);
  return request;
}

double Epsilon(const protocol::TrainRequest& request, uint32_t trainings = 0) {
  auto epsilon = exchange::RunEpsilon(request.dp, request.config.local_epochs, trainings);
  EXPECT_TRUE(epsilon.ok()) << epsilon.status();
  return epsilon.ok() ? epsilon->epsilon : 0;
}

class PrivacyChargeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() /
            ("cartable_charge_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".jsonl");
    fs::remove(path_);
  }
  void TearDown() override {
    session_.reset();
    fs::remove(path_);
  }

  // A fresh session over the ledger at path_ (reopened, as by a restarted node), under `policy`.
  NodeSession& Start(const PlanPolicy& policy) {
    session_.reset();
    ledger_.reset();
    security_.ledger.reset();  // the lock goes with the last holder
    security_.allow_plain_updates = true;
    security_.plan_policy = policy;
    auto ledger = PrivacyLedger::Open(path_);
    EXPECT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = std::shared_ptr<PrivacyLedger>(std::move(ledger).value());
    security_.ledger = ledger_;
    session_ = std::make_unique<NodeSession>(
        "school-a", models::PupilSplit{Pupils(20, 1), Pupils(5, 2)}, security_);
    session_->Hello();
    last_run_ = 0;
    return *session_;
  }
  // The reply to a training request: the update, or the ErrorReply's code and message. A node
  // serves one run at a time and joins the next with a Hello, as between a daemon's runs.
  std::pair<int, std::string> Reply(NodeSession& session, uint64_t run, uint32_t attempt,
                                    const protocol::TrainRequest& request) {
    if (last_run_ != 0 && run != last_run_) session.Hello();
    last_run_ = run;
    const auto replies = session.OnMessage({run, attempt, request});
    if (replies.size() != 1) return {-1, "no single reply"};
    if (const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body))
      return {static_cast<int>(error->code), error->message};
    return {0, ""};
  }

  fs::path path_;
  uint64_t last_run_ = 0;
  NodeSecurity security_;
  std::shared_ptr<PrivacyLedger> ledger_;
  std::unique_ptr<NodeSession> session_;
};

TEST_F(PrivacyChargeTest, ARunIsChargedOnceForItsRoundsBeforeTraining) {
  NodeSession* session = &Start(PlanPolicy{});
  const protocol::TrainRequest request = DpRequest(3, 1.0);
  EXPECT_EQ(Reply(*session, 7, 1, request).first, 0);
  ASSERT_EQ(ledger_->entries().size(), 1U);
  EXPECT_EQ(ledger_->entries()[0].trainings, 3U);
  EXPECT_DOUBLE_EQ(ledger_->entries()[0].epsilon, Epsilon(request));
  EXPECT_EQ(ledger_->entries()[0].plan_hash, PlanHashHex(request.plan_hash));
  EXPECT_EQ(Reply(*session, 7, 2, request).first, 0);
  EXPECT_EQ(Reply(*session, 7, 3, request).first, 0);
  EXPECT_EQ(ledger_->entries().size(), 1U) << "the planned rounds are charged already";

  // A fourth attempt (a round retried) is charged the difference first.
  EXPECT_EQ(Reply(*session, 7, 4, request).first, 0);
  ASSERT_EQ(ledger_->entries().size(), 2U);
  EXPECT_EQ(ledger_->entries()[1].trainings, 4U);
  EXPECT_NEAR(ledger_->Charged(7, PlanHashHex(request.plan_hash)).epsilon, Epsilon(request, 4),
              1e-12);

  // A restarted node rejoining the run is not charged again.
  session = &Start(PlanPolicy{});
  EXPECT_EQ(Reply(*session, 7, 4, request).first, 0);
  EXPECT_EQ(ledger_->entries().size(), 2U);
}

// A run with DP per establishment (noise added before secure aggregation) is charged to the
// establishment's own budget, apart from its pupils'; one that would take a school year past the
// policy's cap for the establishment is declined with the reason and charged to neither.
TEST_F(PrivacyChargeTest, DpPerEstablishmentIsChargedToTheEstablishmentsOwnYearlyBudget) {
  const auto request_for = [](uint8_t plan_byte) {
    protocol::TrainRequest request = DpRequest(4, 1.0, plan_byte);
    request.contribution = {1.0, 1.0, 1.0};
    request.secagg.enabled = 1;
    for (int i = 0; i < 8; ++i)
      request.secagg.cohort.push_back({"school-" + std::to_string(i), {}});
    request.establishment_dp = {1, 2.0, 4, 1e-5, 4};
    return request;
  };
  const protocol::TrainRequest first = request_for(1);
  auto layout =
      exchange::ContributionLayout::For(first.global_parameters.size(), first.contribution);
  ASSERT_TRUE(layout.ok()) << layout.status();
  const double cost =
      exchange::EstablishmentEpsilon(first.establishment_dp, *layout, 8).value().epsilon;
  ASSERT_GT(cost, 0);
  PlanPolicy policy;
  policy.max_epsilon_per_year = 1000;  // the pupils' budget has room for many runs
  policy.max_establishment_epsilon_per_year = cost * 1.5;
  NodeSession* session = &Start(policy);
  Reply(*session, 7, 1, first);  // secure aggregation cannot go on here; the charge comes first
  ASSERT_EQ(ledger_->entries().size(), 2U);
  EXPECT_EQ(ledger_->entries()[0].unit, PrivacyUnit::kPupil);
  EXPECT_NEAR(ledger_->entries()[0].epsilon, Epsilon(first), 1e-12);
  EXPECT_EQ(ledger_->entries()[1].unit, PrivacyUnit::kEstablishment);
  EXPECT_EQ(ledger_->entries()[1].trainings, 4U);
  EXPECT_NEAR(ledger_->entries()[1].epsilon, cost, 1e-12);
  const std::string year = ledger_->CurrentSchoolYear();
  EXPECT_NEAR(ledger_->SpentIn(year), Epsilon(first), 1e-12);
  EXPECT_NEAR(ledger_->SpentIn(year, PrivacyUnit::kEstablishment), cost, 1e-12);

  const auto [code, message] = Reply(*session, 8, 1, request_for(2));
  EXPECT_EQ(code, protocol::kErrorDeclined);
  EXPECT_THAT(message, HasSubstr("per school year for the establishment"));
  EXPECT_THAT(message, HasSubstr("is spent"));
  EXPECT_EQ(ledger_->entries().size(), 2U) << "declined for one budget, charged to neither";

  // A run without DP per establishment is declined by such a policy before any charge.
  protocol::TrainRequest plain = request_for(3);
  plain.establishment_dp = {};
  EXPECT_EQ(Reply(*session, 9, 1, plain).first, protocol::kErrorDeclined);
  EXPECT_EQ(ledger_->entries().size(), 2U);
}

TEST_F(PrivacyChargeTest, ARunOverTheYearlyCapIsDeclinedWithTheReasonAndNothingCharged) {
  PlanPolicy policy;
  const protocol::TrainRequest first = DpRequest(2, 1.0, 1);
  const double cost = Epsilon(first);
  policy.max_epsilon_per_year = cost * 1.5;
  NodeSession* session = &Start(policy);
  EXPECT_EQ(Reply(*session, 7, 1, first).first, 0);

  const protocol::TrainRequest second = DpRequest(2, 1.0, 2);
  const auto [code, message] = Reply(*session, 8, 1, second);
  EXPECT_EQ(code, protocol::kErrorDeclined);
  EXPECT_THAT(message, HasSubstr("per school year"));
  EXPECT_THAT(message, HasSubstr("is spent"));
  EXPECT_EQ(ledger_->entries().size(), 1U) << "a declined run is not charged";

  // After a restart, the ledger still holds the first run's spend.
  session = &Start(policy);
  EXPECT_EQ(Reply(*session, 9, 1, second).first, protocol::kErrorDeclined);
  // A run cheap enough for what is left is taken.
  EXPECT_EQ(Reply(*session, 10, 1, DpRequest(1, 8.0, 3)).first, 0);
  EXPECT_EQ(ledger_->entries().size(), 2U);
}

TEST_F(PrivacyChargeTest, APolicyWithCapsDeclinesRunsWithoutDpAndRunsOverThePerRunCap) {
  PlanPolicy policy;
  policy.max_epsilon_per_run = 1.0;
  NodeSession* session = &Start(policy);
  protocol::TrainRequest plain = DpRequest(2, 1.0);
  plain.dp = {};
  auto [code, message] = Reply(*session, 7, 1, plain);
  EXPECT_EQ(code, protocol::kErrorDeclined);
  EXPECT_THAT(message, HasSubstr("trains only with differential privacy per pupil"));

  std::tie(code, message) = Reply(*session, 8, 1, DpRequest(20, 0.6));
  EXPECT_EQ(code, protocol::kErrorDeclined);
  EXPECT_THAT(message, HasSubstr("allows ε up to 1 per run"));

  protocol::TrainRequest loose = DpRequest(1, 50.0);
  loose.dp.delta = 1e-3;
  std::tie(code, message) = Reply(*session, 9, 1, loose);
  EXPECT_EQ(code, protocol::kErrorDeclined);
  EXPECT_THAT(message, HasSubstr("allows δ up to"));
  EXPECT_TRUE(ledger_->entries().empty());
}

TEST_F(PrivacyChargeTest, ParametersChangedWithinARunAreDeclined) {
  NodeSession* session = &Start(PlanPolicy{});
  EXPECT_EQ(Reply(*session, 7, 1, DpRequest(3, 2.0)).first, 0);
  const auto [code, message] = Reply(*session, 7, 2, DpRequest(3, 0.5));
  EXPECT_EQ(code, protocol::kErrorDeclined);
  EXPECT_THAT(message, HasSubstr("privacy parameters changed"));
}

TEST_F(PrivacyChargeTest, AYearlyCapWithoutALedgerDeclinesEveryDpRun) {
  NodeSecurity security;
  security.allow_plain_updates = true;
  security.plan_policy.max_epsilon_per_year = 10;
  NodeSession session("school-a", models::PupilSplit{Pupils(20, 1), Pupils(5, 2)}, security);
  session.Hello();
  const auto [code, message] = Reply(session, 7, 1, DpRequest(1, 4.0));
  EXPECT_EQ(code, protocol::kErrorDeclined);
  EXPECT_THAT(message, HasSubstr("keeps no privacy ledger"));
}

// Parameters out of range from a peer are an error, never a training and never a charge.
TEST_F(PrivacyChargeTest, DpParametersOutOfRangeAreRefused) {
  NodeSession* session = &Start(PlanPolicy{});
  for (auto change : std::vector<void (*)(protocol::WirePupilDp&)>{
           [](protocol::WirePupilDp& dp) { dp.enabled = 2; },
           [](protocol::WirePupilDp& dp) { dp.noise_multiplier = 0; },
           [](protocol::WirePupilDp& dp) { dp.clip_norm = std::nan(""); },
           [](protocol::WirePupilDp& dp) { dp.sampling_rate = 1.5; },
           [](protocol::WirePupilDp& dp) { dp.delta = 0.5; },
           [](protocol::WirePupilDp& dp) { dp.rounds = 0; }}) {
    protocol::TrainRequest request = DpRequest(1, 1.0);
    change(request.dp);
    const auto [code, message] = Reply(*session, 7, 1, request);
    EXPECT_NE(code, 0);
    EXPECT_NE(code, protocol::kErrorDeclined) << message;
    session = &Start(PlanPolicy{});
  }
  EXPECT_TRUE(ledger_->entries().empty());
}

}  // namespace
}  // namespace cartable::node
