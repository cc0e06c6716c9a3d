#pragma once

// Status and StatusOr<T>: how every expected failure (bad input, refused plan, timeout, peer gone)
// travels across cartable's public APIs. A Status is either OK or carries a code and a message a
// user can act on; context is chained outside-in with WithContext ("loading school-3.csv: line 12:
// field 'correct': ..."). Both are plain values: cheap to move, safe to copy, not thread safe to
// mutate concurrently.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/check.h"

namespace cartable {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kFailedPrecondition,
  kOutOfRange,
  kDeadlineExceeded,
  kUnavailable,
  kCancelled,
  kDataLoss,
  kUnimplemented,
  kInternal,
  kResourceExhausted,  // a bounded queue or budget is full (a peer not reading, memory capped)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message reads "context: message". OK stays OK.
  Status WithContext(std::string_view context) const;

  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // Marks a status as deliberately ignored (e.g. a best-effort goodbye).
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

std::ostream& operator<<(std::ostream& out, const Status& status);

Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status FailedPreconditionError(std::string message);
Status OutOfRangeError(std::string message);
Status DeadlineExceededError(std::string message);
Status UnavailableError(std::string message);
Status CancelledError(std::string message);
Status DataLossError(std::string message);
Status InternalError(std::string message);
Status ResourceExhaustedError(std::string message);

// Holds either a T or a non-OK Status. Accessing the value of an errored StatusOr is a programmer
// error and aborts.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : state_(status) {  // NOLINT: implicit by design
    CARTABLE_CHECK(!status.ok()) << "StatusOr built from an OK status without a value";
  }
  StatusOr(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

  const T& value() const& {
    CheckHasValue();
    return std::get<T>(state_);
  }
  T& value() & {
    CheckHasValue();
    return std::get<T>(state_);
  }
  T&& value() && {
    CheckHasValue();
    return std::get<T>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckHasValue() const {
    CARTABLE_CHECK(ok()) << "value() on an errored StatusOr: "
                         << std::get<Status>(state_).ToString();
  }
  std::variant<Status, T> state_;
};

}  // namespace cartable

#define CARTABLE_CONCAT_INNER_(a, b) a##b
#define CARTABLE_CONCAT_(a, b) CARTABLE_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define CARTABLE_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    const ::cartable::Status& cartable_status_ = (expr); \
    if (!cartable_status_.ok()) return cartable_status_; \
  } while (0)

// `lhs = value of expr`, or returns its Status from the enclosing function.
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration ("auto x"), never
// parenthesised.
#define CARTABLE_ASSIGN_OR_RETURN(lhs, expr) \
  CARTABLE_ASSIGN_OR_RETURN_IMPL_(CARTABLE_CONCAT_(cartable_statusor_, __LINE__), lhs, expr)
#define CARTABLE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
