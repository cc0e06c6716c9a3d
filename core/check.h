#pragma once

// CARTABLE_CHECK(condition) << "details": aborts the process with file, line and details when a
// programmer error (a broken invariant, never bad input) is detected. Bad input returns a Status
// instead.

#include <sstream>
#include <string_view>

namespace cartable::internal {

class CheckFailure {
 public:
  CheckFailure(std::string_view condition, std::string_view file, int line);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `CHECK(x) << a << b` compile to nothing when x holds.
struct CheckVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace cartable::internal

// NOLINTBEGIN(bugprone-macro-parentheses): the expansion must stay open for `<< message`.
#define CARTABLE_CHECK(condition)                      \
  (condition) ? (void)0                                \
              : ::cartable::internal::CheckVoidify() & \
                    ::cartable::internal::CheckFailure(#condition, __FILE__, __LINE__).stream()
// NOLINTEND(bugprone-macro-parentheses)
