#include "coordinator/node_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "loop_messages.h"

namespace cartable::coordinator {
namespace {

using ::testing::HasSubstr;

const protocol::Hello& HelloOf(const protocol::Envelope& e) {
  return std::get<protocol::Hello>(e.body);
}

TEST(NodeRegistryTest, AnAuthenticatedNodeMustPresentTheIdentityKeyTheAllowListHolds) {
  NodeRegistry registry;
  const protocol::Hello hello = HelloOf(HelloFrom("lycee-a"));
  protocol::PublicKeyBytes enrolled = hello.signing_key;
  enrolled[0] ^= 1;
  auto refused = registry.Join("p1", hello, {"lycee-a", enrolled}, TimePoint{});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), HasSubstr("lycee-a.sign.pub"));
  EXPECT_TRUE(registry.Join("p1", hello, {"lycee-a", hello.signing_key}, TimePoint{}).ok());
}

TEST(NodeRegistryTest, NoTwoNodesShareAnIdentityKey) {
  NodeRegistry registry;
  protocol::Hello a = HelloOf(HelloFrom("a"));
  ASSERT_TRUE(registry.Join("p1", a, {}, TimePoint{}).ok());
  protocol::Hello b = a;
  b.node_name = "b";
  auto refused = registry.Join("p2", b, {}, TimePoint{});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("already that of node 'a'"));
  EXPECT_EQ(registry.size(), 1u);
}

TEST(NodeRegistryTest, RefusesNamesThatCannotBePrintedAndHellosWithoutAKey) {
  NodeRegistry registry;
  protocol::Hello forged = HelloOf(HelloFrom("x"));
  forged.node_name = "round 5/5\n\x1b[2J";
  EXPECT_FALSE(registry.Join("p1", forged, {}, TimePoint{}).ok());
  protocol::Hello keyless{"y", {}};
  EXPECT_FALSE(registry.Join("p2", keyless, {}, TimePoint{}).ok());
}

TEST(NodeRegistryTest, ARestartedNodeReplacesItsOldConnection) {
  NodeRegistry registry;
  const protocol::Hello hello = HelloOf(HelloFrom("a"));
  ASSERT_TRUE(registry.Join("old", hello, {}, TimePoint{}).ok());
  auto replaced = registry.Join("new", hello, {}, TimePoint{});
  ASSERT_TRUE(replaced.ok());
  ASSERT_TRUE(replaced->has_value());
  EXPECT_EQ(**replaced, "old");
  EXPECT_FALSE(registry.Contains("old"));
  EXPECT_TRUE(registry.Contains("new"));
}

}  // namespace
}  // namespace cartable::coordinator
