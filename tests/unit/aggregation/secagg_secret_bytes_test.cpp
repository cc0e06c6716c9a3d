#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "aggregation/secagg/secret_bytes.h"

namespace cartable::aggregation::secagg {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(!std::is_convertible_v<SecretBytes, std::string>);

TEST(SecaggSecretBytesTest, StartsZeroedWithTheRequestedSize) {
  SecretBytes bytes(17);
  EXPECT_EQ(bytes.size(), 17u);
  EXPECT_TRUE(
      std::all_of(bytes.span().begin(), bytes.span().end(), [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(SecretBytes().empty());
}

TEST(SecaggSecretBytesTest, RandomDrawsDifferEachTime) {
  const SecretBytes a = SecretBytes::Random(32);
  const SecretBytes b = SecretBytes::Random(32);
  ASSERT_EQ(a.size(), 32u);
  EXPECT_FALSE(ConstantTimeEquals(a.span(), b.span()));
}

TEST(SecaggSecretBytesTest, MoveTransfersTheBufferAndEmptiesTheSource) {
  const std::vector<uint8_t> content = {1, 2, 3, 4, 5};
  SecretBytes source = SecretBytes::CopyFrom(content);
  SecretBytes moved(std::move(source));
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_TRUE(ConstantTimeEquals(moved.span(), content));

  SecretBytes assigned = SecretBytes::Random(8);
  assigned = std::move(moved);
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(ConstantTimeEquals(assigned.span(), content));
}

TEST(SecaggSecretBytesTest, CloneIsAnIndependentCopy) {
  SecretBytes original = SecretBytes::CopyFrom(std::vector<uint8_t>{9, 9, 9});
  SecretBytes copy = original.Clone();
  copy.mutable_span()[0] = 1;
  EXPECT_EQ(original.span()[0], 9);
  EXPECT_EQ(copy.span()[0], 1);
}

TEST(SecaggSecretBytesTest, ConstantTimeEqualsComparesContentAndLength) {
  const std::vector<uint8_t> a = {1, 2, 3};
  const std::vector<uint8_t> b = {1, 2, 4};
  const std::vector<uint8_t> shorter = {1, 2};
  EXPECT_TRUE(ConstantTimeEquals(a, a));
  EXPECT_FALSE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, shorter));
}

TEST(SecaggSecretBytesTest, WipingAllocatorBacksAWorkingVector) {
  std::vector<uint64_t, WipingAllocator<uint64_t>> values;
  // Grows through several reallocations, each of which hands a block back to deallocate().
  for (uint64_t i = 0; i < 1000; ++i) values.push_back(i * i);
  EXPECT_EQ(values[999], 999u * 999u);
}

}  // namespace
}  // namespace cartable::aggregation::secagg
