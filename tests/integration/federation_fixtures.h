#pragma once

// Fixtures shared by the tests that run a federation of real processes: a loopback endpoint free to
// bind, and small synthetic schools written as long CSV files.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "protocol/zmq_transport.h"
#include "simulations/synthetic_cohort.h"

namespace cartable::testing {

// A TCP port free right now on loopback (the kernel's pick, released at once).
inline std::string FreeLoopbackEndpoint() {
  auto probe = protocol::ZmqServerTransport::Bind("tcp://127.0.0.1:*").value();
  return probe->endpoint();
}

// `count` schools of 20–40 pupils over 6 skills, one CSV file each in `dir`.
inline std::vector<std::filesystem::path> WriteSmallSchools(const std::filesystem::path& dir,
                                                            int count) {
  simulations::CohortConfig cohort;
  cohort.schools = count;
  cohort.skills = 6;
  cohort.min_pupils = 20;
  cohort.max_pupils = 40;
  std::vector<std::filesystem::path> files;
  for (const auto& s : simulations::GenerateCohort(cohort)) {
    files.push_back(dir / (s.name + ".csv"));
    EXPECT_TRUE(simulations::WriteLongCsv(s, files.back()).ok());
  }
  return files;
}

}  // namespace cartable::testing
