#include "core/check.h"

#include <cstdio>
#include <cstdlib>

namespace cartable::internal {

CheckFailure::CheckFailure(std::string_view condition, std::string_view file, int line) {
  stream_ << file << ":" << line << ": check failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  std::fprintf(stderr, "%s\n", stream_.str().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace cartable::internal
