// DKT training throughput, the cartable side of tests/bench/dkt_throughput.sh (dkt_bench.py is the
// Python side).
//   cartable_dkt_bench generate FILE [--seed S]   writes a synthetic cohort
//   (simulations::GenerateCohort,
//                                                 default config) as "pupil,skill,correct" lines
//   cartable_dkt_bench train FILE [--batch-size 32] [--hidden-size 64] [--max-length 100] [--epochs
//   5]
//                                 [--threads 1] [--learning-rate 0.01]
//                                 [--model dkt] [--dp-rate Q [--dp-noise 1] [--dp-clip 1]]
// `train` trains the zoo's dkt model on FILE and prints the sequences (windows) per epoch, the
// median epoch time over epochs 2.. (the first one pays for allocations) and sequences per second,
// and the CPU time of the whole training. With --dp-rate, it trains with DP-SGD per pupil (pupils
// drawn with probability Q at each of ceil(epochs / Q) steps, as many pupil visits as the epochs):
// compare the whole training's CPU time with the same command without it.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "models/model.h"
#include "simulations/synthetic_cohort.h"

namespace {

using Clock = std::chrono::steady_clock;

int Generate(const std::string& path, uint64_t seed) {
  cartable::simulations::CohortConfig config;
  config.seed = seed;
  std::ofstream out(path);
  out << "pupil,skill,correct\n";
  for (const auto& school : cartable::simulations::GenerateCohort(config)) {
    for (const auto& pupil : school.pupils) {
      for (const auto& a : pupil.answers)
        out << pupil.id << ',' << a.skill << ',' << int(a.correct) << '\n';
    }
  }
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return 1;
  }
  std::printf("wrote %s (%d skills)\n", path.c_str(), config.skills);
  return 0;
}

// Reads "pupil,skill,correct" lines; a pupil's lines are contiguous.
bool Read(const std::string& path, cartable::models::InteractionLog* log) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string pupil, skill, correct;
    if (!std::getline(fields, pupil, ',') || !std::getline(fields, skill, ',') ||
        !std::getline(fields, correct)) {
      return false;
    }
    if (log->pupil_keys.empty() || log->pupil_keys.back() != pupil)
      log->pupil_keys.push_back(pupil);
    const uint32_t k = static_cast<uint32_t>(std::stoul(skill));
    log->num_skills = std::max(log->num_skills, k + 1);
    log->interactions.push_back({static_cast<uint32_t>(log->pupil_keys.size() - 1), k,
                                 static_cast<uint8_t>(correct == "1")});
  }
  return !log->interactions.empty();
}

// Median over epochs 2.. (the first one pays for allocations).
double SteadyMedian(std::vector<double> seconds) {
  if (seconds.size() > 1) seconds.erase(seconds.begin());
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

int Train(const std::string& path, const std::map<std::string, std::string>& flags) {
  auto flag = [&](const std::string& name, const std::string& fallback) {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  };
  cartable::models::InteractionLog log;
  if (!Read(path, &log)) {
    std::fprintf(stderr, "cannot read %s (expected a header, then pupil,skill,correct lines)\n",
                 path.c_str());
    return 1;
  }
  cartable::models::ModelSpec spec;
  spec.name = flag("model", "dkt");
  spec.num_skills = log.num_skills;
  if (spec.name == "dkt") {
    spec.options = {{"hidden_size", flag("hidden-size", "64")},
                    {"max_length", flag("max-length", "100")}};
  }
  spec.torch_threads = std::stoi(flag("threads", "1"));
  auto model = cartable::models::CreateModel(spec);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  cartable::models::TrainOptions options;
  options.epochs = std::stoi(flag("epochs", "5"));
  options.batch_size = std::stoi(flag("batch-size", "32"));
  options.learning_rate = std::stod(flag("learning-rate", "0.01"));
  if (flags.contains("dp-rate")) {
    options.dp = cartable::models::PupilDp{.noise_multiplier = std::stod(flag("dp-noise", "1")),
                                           .clip_norm = std::stod(flag("dp-clip", "1")),
                                           .sampling_rate = std::stod(flag("dp-rate", "")),
                                           .secret_seed = 1};
  }
  // Wall time, and process CPU time, which a shared machine's load disturbs less (one thread).
  std::vector<double> seconds, cpu_seconds;
  Clock::time_point last = Clock::now();
  std::clock_t last_cpu = std::clock();
  options.on_epoch = [&](int, double) {
    const Clock::time_point now = Clock::now();
    const std::clock_t now_cpu = std::clock();
    seconds.push_back(std::chrono::duration<double>(now - last).count());
    cpu_seconds.push_back(static_cast<double>(now_cpu - last_cpu) / CLOCKS_PER_SEC);
    last = now;
    last_cpu = now_cpu;
  };
  const std::clock_t started_cpu = std::clock();
  auto report = (*model)->Train(log, options);
  const double total_cpu = static_cast<double>(std::clock() - started_cpu) / CLOCKS_PER_SEC;
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 1;
  }
  // Windows per epoch, as the model cuts them.
  const int64_t max_length = std::stoll(flag("max-length", "100"));
  int64_t sequences = 0, run = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    if (i == 0 || log.interactions[i - 1].pupil != log.interactions[i].pupil || run == max_length) {
      ++sequences;
      run = 0;
    }
    ++run;
  }
  if (options.dp) {
    std::printf(
        "cartable %s with DP-SGD: %lld steps over %lld pupils, training %.3f s cpu, final "
        "loss %.4f\n",
        spec.name.c_str(), static_cast<long long>(report->steps),
        static_cast<long long>(report->pupils), total_cpu, report->mean_loss);
    return 0;
  }
  const double wall = SteadyMedian(seconds), cpu = SteadyMedian(cpu_seconds);
  const double n = static_cast<double>(sequences);
  std::printf(
      "cartable: %lld sequences/epoch, median epoch %.3f s wall %.3f s cpu, %.1f sequences/s wall, "
      "%.1f sequences/s cpu, final loss %.4f, training %.3f s cpu\n",
      static_cast<long long>(sequences), wall, cpu, n / wall, n / cpu, report->mean_loss,
      total_cpu);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s generate FILE [--seed S] | train FILE [--flag value]...\n",
                 argv[0]);
    return 2;
  }
  const std::string command = argv[1], path = argv[2];
  std::map<std::string, std::string> flags;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) {
      std::fprintf(stderr, "unexpected argument %s\n", argv[i]);
      return 2;
    }
    flags[name.substr(2)] = argv[i + 1];
  }
  if (command == "generate") {
    return Generate(path, flags.contains("seed") ? std::stoull(flags["seed"]) : 1);
  }
  if (command == "train") return Train(path, flags);
  std::fprintf(stderr, "unknown command %s\n", command.c_str());
  return 2;
}
