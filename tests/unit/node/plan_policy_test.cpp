// An establishment's training policy: read from its [policy] table, explained, and enforced on
// each training request before any training, with the reason sent back.

#include "node/plan_policy.h"

#include <gtest/gtest.h>

#include <cmath>

#include "node/node_session.h"

namespace cartable::node {
namespace {

PlanPolicy Read(const std::string& text) {
  auto root = ConfigTable::Parse(text, "node.toml");
  EXPECT_TRUE(root.ok()) << root.status();
  auto table = root->Table("policy");
  EXPECT_TRUE(table.ok()) << table.status();
  auto policy = ReadPlanPolicy(*table);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : PlanPolicy{};
}

constexpr const char* kPolicy = R"toml(
[policy]
models = ["pfa", "dkt"]
max_local_epochs = 3
min_training_pupils = 10
[policy.options.dkt]
hidden_size = "8..64"
cell = "gru"
)toml";

protocol::TrainRequest Request(const std::string& model, uint32_t epochs,
                               std::vector<protocol::ModelOption> options = {}) {
  protocol::TrainRequest request;
  request.model.name = model;
  request.model.options = std::move(options);
  request.config.local_epochs = epochs;
  return request;
}

TEST(PlanPolicyTest, AllowsWhatItListsAndRefusesTheRestSayingWhy) {
  const PlanPolicy policy = Read(kPolicy);
  EXPECT_TRUE(policy.Check(Request("pfa", 2), 50).ok());
  EXPECT_TRUE(policy.Check(Request("dkt", 3, {{"hidden_size", "32"}, {"cell", "gru"}}), 50).ok());
  EXPECT_TRUE(policy.Check(Request("dkt", 1, {{"dropout", "0.5"}}), 50).ok())
      << "an option the policy does not list is free";

  const Status model = policy.Check(Request("sakt", 1), 50);
  EXPECT_EQ(model.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(model.message().find("allows the models dkt, pfa; the run trains sakt"),
            std::string::npos)
      << model;
  EXPECT_NE(policy.Check(Request("pfa", 4), 50).message().find("at most 3 local epoch(s)"),
            std::string::npos);
  EXPECT_NE(policy.Check(Request("pfa", 1), 9)
                .message()
                .find("at least 10 training pupils to take part; it has 9"),
            std::string::npos);
  EXPECT_NE(policy.Check(Request("dkt", 1, {{"hidden_size", "128"}}), 50)
                .message()
                .find("dkt hidden_size 8 to 64; the run sets 128"),
            std::string::npos);
  EXPECT_FALSE(policy.Check(Request("dkt", 1, {{"hidden_size", "big"}}), 50).ok());
  EXPECT_NE(policy.Check(Request("dkt", 1, {{"cell", "lstm"}}), 50)
                .message()
                .find("dkt cell gru; the run sets lstm"),
            std::string::npos);
}

TEST(PlanPolicyTest, AnEmptyPolicyAllowsEverythingAndSaysSo) {
  const PlanPolicy policy = Read("[policy]\n");
  EXPECT_TRUE(policy.Check(Request("sakt", 100), 0).ok());
  EXPECT_EQ(policy.Explain(), "Any model may be trained.\nAny number of local epochs a round.\n");
}

TEST(PlanPolicyTest, ExplainsEachRule) {
  EXPECT_EQ(Read(kPolicy).Explain(),
            "Only these models may be trained: dkt, pfa.\n"
            "At most 3 local epoch(s) a round.\n"
            "The node takes part only with 10 training pupils at least.\n"
            "Model dkt: option cell must be gru.\n"
            "Model dkt: option hidden_size must be 8 to 64.\n");
}

// ceil(epochs / rate) steps a round: a rate far below one pupil a step would keep the node busy
// for hours, so steps are capped (100,000 unless the policy says otherwise), with or without caps
// on ε.
TEST(PlanPolicyTest, DpSgdStepsARoundAreCapped) {
  protocol::TrainRequest request = Request("pfa", 2);
  request.dp = {.enabled = 1,
                .noise_multiplier = 1,
                .clip_norm = 1,
                .sampling_rate = 1e-5,
                .delta = 1e-5,
                .rounds = 1};
  const Status refused = Read("[policy]\n").Check(request, 50);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("allows at most 100000 DP-SGD steps a round; the run asks for "
                                   "200000 (2 epoch(s) at sampling rate 1e-05)"),
            std::string::npos)
      << refused;
  request.dp.sampling_rate = 1e-4;  // 20,000 steps
  EXPECT_TRUE(Read("[policy]\n").Check(request, 50).ok());
  const PlanPolicy tight = Read("[policy]\nmax_dp_steps = 1000\n");
  EXPECT_FALSE(tight.Check(request, 50).ok());
  EXPECT_NE(tight.Explain().find("At most 1000 DP-SGD steps a round."), std::string::npos);
  request.dp.sampling_rate = 1e-5;
  EXPECT_TRUE(Read("[policy]\nmax_dp_steps = 0\n").Check(request, 50).ok());
  request.dp.sampling_rate = 0;  // what no plan sends: an error, not a decline
  EXPECT_EQ(Read("[policy]\n").Check(request, 50).code(), StatusCode::kInvalidArgument);
}

// Establishment-level DP protects the establishment only under secure aggregation: a round that
// asks for it in the clear is declined, and values no plan sends are errors.
TEST(PlanPolicyTest, EstablishmentDpIsTakenOnlyUnderSecureAggregation) {
  protocol::TrainRequest request = Request("pfa", 1);
  request.secagg.enabled = 1;
  request.establishment_dp = {1, 1.0, 3, 1e-5, 4};
  EXPECT_TRUE(Read("[policy]\n").Check(request, 50).ok());
  request.secagg.enabled = 0;
  const Status refused = Read("[policy]\n").Check(request, 50);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("without secure aggregation"), std::string::npos) << refused;
  request.secagg.enabled = 1;
  request.establishment_dp.min_contributors = 1;
  EXPECT_EQ(Read("[policy]\n").Check(request, 50).code(), StatusCode::kInvalidArgument);
  request.establishment_dp.min_contributors = 3;
  request.establishment_dp.noise_multiplier = std::nan("");
  EXPECT_EQ(Read("[policy]\n").Check(request, 50).code(), StatusCode::kInvalidArgument);
}

// A cap on ε per establishment makes DP per establishment required, and declines a run whose noise
// is too little for the cap, by the accountant for the round's cohort.
TEST(PlanPolicyTest, AnEstablishmentEpsilonCapRequiresEnoughDistributedNoise) {
  const PlanPolicy policy = Read("[policy]\nmax_establishment_epsilon = 10\n");
  EXPECT_NE(policy.Explain().find("Only runs with differential privacy per establishment"),
            std::string::npos)
      << policy.Explain();
  protocol::TrainRequest request = Request("pfa", 1);
  request.global_parameters.assign(63, 0.0F);
  request.contribution = {1.0, 1.0, 1.0};
  request.secagg.enabled = 1;
  for (int i = 0; i < 8; ++i) request.secagg.cohort.push_back({"school-" + std::to_string(i), {}});
  const Status without = policy.Check(request, 50);
  EXPECT_EQ(without.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(without.message().find("the run asks for none"), std::string::npos) << without;
  request.establishment_dp = {1, 2.0, 4, 1e-5, 10};  // ε = 8.08 over 10 rounds
  EXPECT_TRUE(policy.Check(request, 50).ok()) << policy.Check(request, 50);
  request.establishment_dp.noise_multiplier = 1.0;  // ε = 19.1
  const Status too_little = policy.Check(request, 50);
  EXPECT_EQ(too_little.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(too_little.message().find("this run would cost it ε = 19.1"), std::string::npos)
      << too_little;
  request.establishment_dp = {1, 2.0, 4, 1e-3, 10};
  EXPECT_NE(policy.Check(request, 50).message().find("δ up to"), std::string::npos);
  EXPECT_TRUE(Read("[policy]\n").Check(request, 50).ok());  // no cap: any noise

  // A yearly cap alone requires DP per establishment too; what a run costs is kept by the ledger.
  const PlanPolicy yearly = Read("[policy]\nmax_establishment_epsilon_per_year = 16\n");
  EXPECT_EQ(yearly.max_establishment_epsilon_per_year, 16);
  EXPECT_NE(yearly.Explain().find("may cost the establishment ε up to 16 together"),
            std::string::npos)
      << yearly.Explain();
  request.establishment_dp = {1, 1.0, 4, 1e-5, 10};  // ε = 19.1, beyond no per-run cap
  EXPECT_TRUE(yearly.Check(request, 50).ok()) << yearly.Check(request, 50);
  request.establishment_dp = {};
  EXPECT_NE(yearly.Check(request, 50).message().find("the run asks for none"), std::string::npos);
}

// Two CURVE public keys (the examples of ZeroMQ's RFC 26).
constexpr const char* kAllowedKey = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
constexpr const char* kOtherKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

TEST(PlanPolicyTest, TheNodeServesOnlyTheCoordinatorsAndReadsOnlyTheDataItsPolicyAllows) {
  auto root = ConfigTable::Parse(std::string(R"toml(
[policy]
coordinator_keys = [")toml") + kAllowedKey +
                                     R"toml("]
data_sources = ["csv:data/", "oulad:/srv/oulad"]
)toml",
                                 "/srv/school/node.toml");
  ASSERT_TRUE(root.ok()) << root.status();
  auto table = root->Table("policy");
  ASSERT_TRUE(table.ok());
  auto read = ReadPlanPolicy(*table);
  ASSERT_TRUE(read.ok()) << read.status();
  const PlanPolicy& policy = *read;
  EXPECT_EQ(policy.data_sources,
            (std::vector<std::string>{"csv:/srv/school/data/", "oulad:/srv/oulad"}))
      << "paths relative to node.toml, a directory keeping its /";

  EXPECT_TRUE(policy.CheckCoordinatorKey(kAllowedKey).ok());
  const Status other = policy.CheckCoordinatorKey(kOtherKey);
  EXPECT_EQ(other.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(other.message().find(kAllowedKey), std::string::npos) << other;
  EXPECT_NE(other.message().find(kOtherKey), std::string::npos) << other;
  EXPECT_NE(policy.CheckCoordinatorKey("").message().find("--insecure"), std::string::npos);

  for (const char* allowed : {"csv:/srv/school/data/answers.csv", "csv:/srv/school/data/2026/a.csv",
                              "csv:/srv/school/./data/b.csv", "oulad:/srv/oulad",
                              "oulad:/srv/oulad/", "oulad:/srv/oulad?cutoff=60"}) {
    EXPECT_TRUE(policy.CheckDataSource(allowed).ok()) << allowed;
  }
  for (const char* refused :
       {"csv:/srv/school/data/../secret.csv", "csv:/srv/school/database.csv",
        "kt3:/srv/school/data/a.txt", "csv:data/answers.csv", "oulad:/srv/oulad2",
        "oulad:/srv/oulad/../other", "/srv/school/data/answers.csv", "csv:"}) {
    const Status s = policy.CheckDataSource(refused);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << refused;
    EXPECT_NE(s.message().find("allows reading only csv:/srv/school/data/, oulad:/srv/oulad"),
              std::string::npos)
        << s;
  }
  const std::string explained = policy.Explain();
  EXPECT_NE(explained.find(std::string("Only the coordinators with these public keys may be "
                                       "joined: ") +
                           kAllowedKey),
            std::string::npos)
      << explained;
  EXPECT_NE(explained.find("Only these data may be read"), std::string::npos) << explained;

  const PlanPolicy any;
  EXPECT_TRUE(any.CheckCoordinatorKey(kOtherKey).ok());
  EXPECT_TRUE(any.CheckCoordinatorKey("").ok());
  EXPECT_TRUE(any.CheckDataSource("csv:anything.csv").ok());
}

TEST(PlanPolicyTest, ABadPolicyNamesTheKeyAndTheFile) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"[policy]\nmodels = \"pfa\"\n", "[policy] models"},
           {"[policy]\nmax_local_epochs = -1\n", "[policy] max_local_epochs"},
           {"[policy]\nmax_epochs = 3\n", "max_epochs"},
           {"[policy]\nmax_dp_steps = -1\n", "[policy] max_dp_steps"},
           {"[policy]\nmax_establishment_epsilon = -1\n", "[policy] max_establishment_epsilon"},
           {"[policy]\nmax_establishment_epsilon_per_year = -1\n",
            "[policy] max_establishment_epsilon_per_year"},
           {"[policy.options.dkt]\nhidden_size = \"64..8\"\n", "hidden_size"},
           {"[policy.options.dkt]\nhidden_size = \"a..8\"\n", "not a range"},
           {"[policy]\ncoordinator_keys = [\"short\"]\n", "[policy] coordinator_keys"},
           {"[policy]\ncoordinator_keys = \"short\"\n", "[policy] coordinator_keys"},
           {"[policy]\ndata_sources = [\"answers.csv\"]\n", "is not FORMAT:PATH"},
           {"[policy]\ndata_sources = [\"csv:\"]\n", "[policy] data_sources"}}) {
    auto root = ConfigTable::Parse(text, "node.toml");
    ASSERT_TRUE(root.ok()) << root.status();
    auto table = root->Table("policy");
    ASSERT_TRUE(table.ok());
    auto policy = ReadPlanPolicy(*table);
    ASSERT_FALSE(policy.ok()) << text;
    EXPECT_NE(policy.status().message().find(expected), std::string::npos) << policy.status();
    EXPECT_NE(policy.status().message().find("node.toml"), std::string::npos) << policy.status();
  }
}

// The session refuses before training, and the reason travels back in the ErrorReply.
TEST(PlanPolicyTest, ANodeRefusesARequestItsPolicyBreaksWithTheReason) {
  NodeSecurity security;
  security.allow_plain_updates = true;
  security.plan_policy = Read(kPolicy);
  models::InteractionLog log;
  NodeSession session("school-a", models::PupilSplit{log, log}, security);
  session.Hello();
  protocol::TrainRequest request = Request("sakt", 1);
  request.model.num_skills = 4;
  const auto replies = session.OnMessage({7, 1, request});
  ASSERT_EQ(replies.size(), 1U);
  const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, protocol::kErrorDeclined);
  EXPECT_NE(error->message.find("the run trains sakt"), std::string::npos) << error->message;
}

// A node that sends updates only under secure aggregation declines a round in the clear the same
// way: the coordinator then asks it nothing more in this run.
TEST(PlanPolicyTest, ANodeDeclinesAnUpdateInTheClearWhenItSendsOnlySecurely) {
  NodeSecurity security;
  security.allow_plain_updates = false;
  models::InteractionLog log;
  NodeSession session("school-a", models::PupilSplit{log, log}, security);
  session.Hello();
  protocol::TrainRequest request = Request("pfa", 1);
  request.model.num_skills = 4;
  const auto replies = session.OnMessage({7, 1, request});
  ASSERT_EQ(replies.size(), 1U);
  const auto* error = std::get_if<protocol::ErrorReply>(&replies[0].body);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->code, protocol::kErrorDeclined);
  EXPECT_NE(error->message.find("only under secure aggregation"), std::string::npos)
      << error->message;
}

}  // namespace
}  // namespace cartable::node
