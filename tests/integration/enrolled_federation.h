#pragma once

// EnrolledFederation: a federation enrolled as an academy would enrol it, for the tests that attack
// one: a coordinator key pair, a key pair per school (its secret in keys/, its public key in the
// coordinator's allow-list, its identity key in the roster every node checks cohorts against) and
// each school's answers in a CSV file. Honest schools run as `cartable node` processes; a school
// the test names hostile runs in the test process as a HostileNode with the same key and data. The
// coordinator runs in the test process (ServeRun), so the test reads its records and what it
// excluded.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "coordinator/coordinator_service.h"
#include "core/subprocess.h"
#include "hostile_node.h"
#include "node/identity.h"
#include "process_helpers.h"
#include "protocol/curve_keys.h"
#include "protocol/zmq_transport.h"
#include "simulations/synthetic_cohort.h"

namespace cartable::testing {

class EnrolledFederation {
 public:
  // `schools` schools of 20–40 pupils over 6 skills, enrolled in `dir`. With
  // `identity_keys_in_allow_list`, the coordinator's allow-list holds each school's NAME.sign.pub
  // beside its NAME.pub (as keygen's output does), so the coordinator checks identity keys itself;
  // without, only the nodes' rosters do.
  EnrolledFederation(const std::filesystem::path& dir, int schools, uint64_t seed = 21,
                     bool identity_keys_in_allow_list = true)
      : dir_(dir) {
    simulations::CohortConfig cohort;
    cohort.schools = schools;
    cohort.skills = 6;
    cohort.min_pupils = 20;
    cohort.max_pupils = 40;
    cohort.seed = seed;
    schools_ = simulations::GenerateCohort(cohort);
    coordinator_keys_ =
        std::make_unique<protocol::CurveKeyPair>(protocol::GenerateCurveKeyPair().value());
    EXPECT_TRUE(protocol::WriteCurveKeyPair(dir_, "coordinator", *coordinator_keys_).ok());
    for (const auto& school : schools_) {
      auto pair = protocol::GenerateCurveKeyPair().value();
      EXPECT_TRUE(protocol::WriteCurveKeyPair(dir_ / "keys", school.name, pair).ok());
      EXPECT_TRUE(protocol::WriteCurveKeyPair(
                      dir_ / "allowed", school.name,
                      protocol::CurveKeyPair{pair.public_key,
                                             protocol::CurveSecretKey(pair.secret_key.z85())})
                      .ok());
      std::filesystem::remove(dir_ / "allowed" / (school.name + ".key"));
      auto identity = node::SigningKeyFromCurveSecret(pair.secret_key).value();
      EXPECT_TRUE(
          node::WriteSigningPublicKey(dir_ / "roster", school.name, identity.PublicKey()).ok());
      if (identity_keys_in_allow_list) {
        EXPECT_TRUE(
            node::WriteSigningPublicKey(dir_ / "allowed", school.name, identity.PublicKey()).ok());
      }
      EXPECT_TRUE(simulations::WriteLongCsv(school, dir_ / (school.name + ".csv")).ok());
    }
  }

  const std::vector<simulations::SyntheticSchool>& schools() const { return schools_; }
  const std::string& name(int i) const { return schools_[static_cast<size_t>(i)].name; }
  std::filesystem::path log(int i) const { return dir_ / (name(i) + ".log"); }

  // The coordinator's CURVE socket on a free loopback port, admitting the enrolled schools.
  std::unique_ptr<protocol::ZmqServerTransport> Bind() const {
    return protocol::ZmqServerTransport::BindCurve("tcp://127.0.0.1:*", *coordinator_keys_,
                                                   dir_ / "allowed")
        .value();
  }

  // School i as an honest `cartable node` process (`more`: further flags).
  std::unique_ptr<ChildProcess> StartHonest(int i, const std::string& endpoint,
                                            const std::vector<std::string>& more = {}) const {
    std::vector<std::string> args = {CARTABLE_BINARY,
                                     "node",
                                     "--coordinator",
                                     endpoint,
                                     "--data",
                                     "csv:" + (dir_ / (name(i) + ".csv")).string(),
                                     "--name",
                                     name(i),
                                     "--key",
                                     (dir_ / "keys" / (name(i) + ".key")).string(),
                                     "--coordinator-key",
                                     (dir_ / "coordinator.pub").string(),
                                     "--roster",
                                     (dir_ / "roster").string(),
                                     "--pseudonym-key",
                                     (dir_ / (name(i) + ".pseudonym")).string(),
                                     "--idle-timeout",
                                     "60"};
    args.insert(args.end(), more.begin(), more.end());
    return ChildProcess::Spawn(args, log(i)).value();
  }

  // School i in this process, sending what `tamper` makes of its messages.
  std::unique_ptr<HostileNode> StartHostile(
      int i, const std::string& endpoint, Tamper tamper,
      std::shared_ptr<const models::PupilAttributes> attributes = nullptr) const {
    HostileNodeOptions options;
    options.endpoint = endpoint;
    options.coordinator_public_key_file = dir_ / "coordinator.pub";
    options.key_file = dir_ / "keys" / (name(i) + ".key");
    options.name = name(i);
    options.data = models::SplitByPupil(
        simulations::ToInteractionLog(schools_[static_cast<size_t>(i)], 6), 0.2, 7);
    auto secret = protocol::LoadCurveKeyPair(options.key_file).value();
    options.security.identity = std::make_shared<const aggregation::secagg::SigningKey>(
        node::SigningKeyFromCurveSecret(secret.secret_key).value());
    options.security.policy.roster = node::LoadRoster(dir_ / "roster").value();
    options.tamper = std::move(tamper);
    options.attributes = std::move(attributes);
    return HostileNode::Start(std::move(options)).value();
  }

  // A run of `rounds` rounds among every school, with short deadlines.
  coordinator::RunConfig Run(int rounds) const {
    coordinator::RunConfig run;
    run.rounds = static_cast<uint32_t>(rounds);
    run.expected_nodes = schools_.size();
    run.min_nodes = 3;
    run.model.num_skills = 6;
    run.round_timeout = std::chrono::seconds(8);
    run.join_timeout = std::chrono::seconds(60);
    return run;
  }

 private:
  std::filesystem::path dir_;
  std::vector<simulations::SyntheticSchool> schools_;
  std::unique_ptr<protocol::CurveKeyPair> coordinator_keys_;
};

}  // namespace cartable::testing
