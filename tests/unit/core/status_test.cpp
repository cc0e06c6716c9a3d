#include "core/status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

using ::cartable::InvalidArgumentError;
using ::cartable::NotFoundError;
using ::cartable::Status;
using ::cartable::StatusCode;
using ::cartable::StatusCodeName;
using ::cartable::StatusOr;
using ::testing::HasSubstr;

namespace {

TEST(StatusTest, DefaultIsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kOk);
  EXPECT_EQ(status.message(), "");
  EXPECT_EQ(status.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status status = InvalidArgumentError("field 'correct' is not 0 or 1");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "field 'correct' is not 0 or 1");
  EXPECT_EQ(status.ToString(), "INVALID_ARGUMENT: field 'correct' is not 0 or 1");
}

TEST(StatusTest, FactoryFunctionsSetTheirCodes) {
  EXPECT_EQ(cartable::NotFoundError("x").code(), StatusCode::kNotFound);
  EXPECT_EQ(cartable::AlreadyExistsError("x").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(cartable::PermissionDeniedError("x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(cartable::FailedPreconditionError("x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(cartable::OutOfRangeError("x").code(), StatusCode::kOutOfRange);
  EXPECT_EQ(cartable::DeadlineExceededError("x").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(cartable::UnavailableError("x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(cartable::CancelledError("x").code(), StatusCode::kCancelled);
  EXPECT_EQ(cartable::DataLossError("x").code(), StatusCode::kDataLoss);
  EXPECT_EQ(cartable::InternalError("x").code(), StatusCode::kInternal);
}

TEST(StatusTest, CodeNames) {
  EXPECT_EQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_EQ(StatusCodeName(StatusCode::kNotFound), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(StatusCode::kDataLoss), "DATA_LOSS");
  EXPECT_EQ(StatusCodeName(StatusCode::kUnimplemented), "UNIMPLEMENTED");
  EXPECT_EQ(StatusCodeName(static_cast<StatusCode>(999)), "UNKNOWN");
}

TEST(StatusTest, StreamsAsToString) {
  std::ostringstream out;
  out << NotFoundError("no such school");
  EXPECT_EQ(out.str(), "NOT_FOUND: no such school");
}

TEST(StatusTest, WithContextChainsOutsideIn) {
  Status inner = InvalidArgumentError("field 'correct': expected 0 or 1");
  Status chained = inner.WithContext("line 12").WithContext("loading school-3.csv");
  EXPECT_EQ(chained.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(chained.message(), "loading school-3.csv: line 12: field 'correct': expected 0 or 1");
  // The original is a value and is left untouched.
  EXPECT_EQ(inner.message(), "field 'correct': expected 0 or 1");
}

TEST(StatusTest, WithContextKeepsOkOk) {
  Status chained = Status::Ok().WithContext("loading");
  EXPECT_TRUE(chained.ok());
  EXPECT_EQ(chained.message(), "");
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<std::string> result(std::string("hello"));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.status().ok());
  EXPECT_EQ(result.value(), "hello");
  EXPECT_EQ(*result, "hello");
  EXPECT_EQ(result->size(), 5u);
  result.value() += " world";
  EXPECT_EQ(*result, "hello world");
}

TEST(StatusOrTest, HoldsError) {
  StatusOr<int> result(NotFoundError("missing"));
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(result.status().message(), "missing");
}

TEST(StatusOrTest, MovesOutMoveOnlyValue) {
  StatusOr<std::unique_ptr<int>> result(std::make_unique<int>(7));
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> taken = std::move(result).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
}

using StatusOrDeathTest = ::testing::Test;

TEST_F(StatusOrDeathTest, ValueOfErroredStatusOrAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  StatusOr<int> result(NotFoundError("no such pupil"));
  EXPECT_DEATH((void)result.value(),
               "value\\(\\) on an errored StatusOr: NOT_FOUND: no such pupil");
}

TEST_F(StatusOrDeathTest, DereferenceOfErroredStatusOrAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const StatusOr<std::string> result(InvalidArgumentError("bad"));
  EXPECT_DEATH((void)result->size(), "errored StatusOr");
}

TEST_F(StatusOrDeathTest, StatusOrFromOkStatusAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        StatusOr<int> result(Status::Ok());
        (void)result;
      },
      "StatusOr built from an OK status");
}

TEST_F(StatusOrDeathTest, OkStatusWithMessageAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Status status(StatusCode::kOk, "oops");
        (void)status;
      },
      "OK status carries no message");
}

// Helpers exercising the macros.
Status FailIf(bool fail, std::vector<std::string>* trace) {
  trace->push_back("FailIf");
  if (fail) return InvalidArgumentError("asked to fail");
  return Status::Ok();
}

Status TwoSteps(bool fail_first, std::vector<std::string>* trace) {
  CARTABLE_RETURN_IF_ERROR(FailIf(fail_first, trace));
  CARTABLE_RETURN_IF_ERROR(FailIf(false, trace));
  trace->push_back("end");
  return Status::Ok();
}

StatusOr<int> Parse(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgumentError("'" + text + "' is not a number");
  }
  return std::stoi(text);
}

StatusOr<int> SumOfTwo(const std::string& a, const std::string& b, bool* reached_end) {
  CARTABLE_ASSIGN_OR_RETURN(int x, Parse(a));
  int y = 0;
  CARTABLE_ASSIGN_OR_RETURN(y, Parse(b));
  *reached_end = true;
  return x + y;
}

StatusOr<std::unique_ptr<int>> MakeBox(bool fail) {
  if (fail) return NotFoundError("no box");
  return std::make_unique<int>(41);
}

StatusOr<int> Unbox(bool fail) {
  CARTABLE_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(fail));
  return *box + 1;
}

TEST(StatusMacrosTest, ReturnIfErrorContinuesOnOk) {
  std::vector<std::string> trace;
  EXPECT_TRUE(TwoSteps(false, &trace).ok());
  EXPECT_EQ(trace, (std::vector<std::string>{"FailIf", "FailIf", "end"}));
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsFirstError) {
  std::vector<std::string> trace;
  Status status = TwoSteps(true, &trace);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "asked to fail");
  EXPECT_EQ(trace, (std::vector<std::string>{"FailIf"}));
}

TEST(StatusMacrosTest, AssignOrReturnAssignsValues) {
  bool reached_end = false;
  StatusOr<int> sum = SumOfTwo("40", "2", &reached_end);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(*sum, 42);
  EXPECT_TRUE(reached_end);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesError) {
  bool reached_end = false;
  StatusOr<int> sum = SumOfTwo("40", "two", &reached_end);
  EXPECT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(sum.status().message(), HasSubstr("'two' is not a number"));
  EXPECT_FALSE(reached_end);

  sum = SumOfTwo("x", "2", &reached_end);
  EXPECT_THAT(sum.status().message(), HasSubstr("'x' is not a number"));
  EXPECT_FALSE(reached_end);
}

TEST(StatusMacrosTest, AssignOrReturnMovesMoveOnlyValues) {
  StatusOr<int> ok = Unbox(false);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  StatusOr<int> failed = Unbox(true);
  EXPECT_EQ(failed.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(failed.status().message(), "no box");
}

}  // namespace
