#include "ingest/xapi_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data_file_test.h"
#include "ingest/formats.h"

namespace cartable::ingest {
namespace {

using testing::Answer;
using testing::Answers;
using ::testing::HasSubstr;
using ::testing::Not;

// One statement; an empty `success` leaves out the result.
std::string Statement(const std::string& actor, const std::string& object, const std::string& skill,
                      const std::string& success, const std::string& time) {
  return R"({"actor":)" + actor + R"(,"verb":{"id":"http://adlnet.gov/expapi/verbs/answered"},)" +
         R"("object":{"id":")" + object + R"("},)" +
         R"("context":{"contextActivities":{"parent":[{"id":")" + skill + R"("}]}},)" +
         (success.empty() ? "" : R"("result":{"success":)" + success + "},") + R"("timestamp":")" +
         time + "\"}\n";
}

std::string Account(const std::string& name) {
  return R"({"account":{"homePage":"https://school.example","name":")" + name + R"("}})";
}

class XapiSourceTest : public testing::DataFileTest {
 protected:
  const testing::Loader load_ = [](const auto& path, const Pseudonymizer* p) {
    return LoadXapi(path, p);
  };
};

TEST_F(XapiSourceTest, ReadsAnswersOrderedByTimestampWithDenseIds) {
  const std::string data =
      Statement(Account("ann"), "q/7", "skill/frac", "true", "2024-03-05T10:00:00Z") +
      Statement(Account("bob"), "q/8", "skill/dec", "false", "2024-03-05T09:00:00Z") +
      Statement(Account("ann"), "q/8", "skill/dec", "false",
                "2024-03-05T10:30:00+01:00") +  // 09:30Z
      Statement(Account("ann"), "q/9", "skill/frac", "true", "2024-03-05T09:59:59.5Z");
  auto log = Load(load_, data);
  EXPECT_EQ(log.pupil_keys, (std::vector<std::string>{"ann", "bob"}));
  EXPECT_EQ(log.num_skills, 2u);  // frac 0, dec 1
  EXPECT_EQ(log.num_items, 3u);   // q/7 0, q/8 1, q/9 2
  EXPECT_EQ(Answers(log),
            (std::vector<Answer>{{0, 1, 0, 1}, {0, 0, 1, 2}, {0, 0, 1, 0}, {1, 1, 0, 1}}));
}

TEST_F(XapiSourceTest, SkipsAndCountsStatementsWithoutSuccess) {
  const std::string data =
      Statement(Account("ann"), "q/1", "s", "", "2024-01-01T00:00:00Z") + "\n" +
      Statement(Account("ann"), "q/1", "s", "true", "2024-01-01T00:01:00Z") +
      R"({"actor":{"mbox":"mailto:x@y"},"verb":{"id":"launched"},"object":{"id":"c"}})" + "\n";
  XapiCounts counts;
  auto log = LoadXapi(Write("lrs.jsonl", data), nullptr, &counts);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->size(), 1u);
  EXPECT_EQ(counts.statements, 3u);
  EXPECT_EQ(counts.skipped_without_success, 2u);
}

TEST_F(XapiSourceTest, FindsActorsAndSkillsWhereverTheyAreDeclared) {
  const std::string data =
      Statement(R"({"mbox_sha1sum":"ebd31e95054c018b10727ccffd2ef2ec3a016ee9"})", "q",
                "parent-skill", "true", "2024-01-01T00:00:00Z") +
      R"({"actor":{"mbox":"mailto:cy@school.example"},"result":{"success":true},)"
      R"("object":{"id":"q","definition":{"extensions":{"https://ex.org/xapi/Skill":"ext-skill"}}},)"
      R"("context":{"contextActivities":{"parent":[{"id":"parent-skill"}]}},"timestamp":"2024-01-01T00:00:00Z"})"
      "\n" +
      R"({"actor":{"openid":"https://id.example/dee"},"object":{"id":"q"},"result":{"success":false},)"
      R"("context":{"contextActivities":{"grouping":[{"id":"group-skill"}]},)"
      R"("extensions":{"https://ex.org/skill":12}},"timestamp":"2024-01-01T00:00:00Z"})"
      "\n" +
      R"({"actor":{"openid":"https://id.example/dee"},"object":{"id":"q"},"result":{"success":true},)"
      R"("context":{"contextActivities":{"grouping":[{"id":"group-skill"}]}},"timestamp":"2024-01-02T00:00:00Z"})"
      "\n";
  auto log = Load(load_, data);
  EXPECT_EQ(log.pupil_keys,
            (std::vector<std::string>{"ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
                                      "mailto:cy@school.example", "https://id.example/dee"}));
  // parent-skill 0, ext-skill 1 (an extension wins over the parent), "12" 2, group-skill 3.
  EXPECT_EQ(log.num_skills, 4u);
  EXPECT_EQ(Answers(log),
            (std::vector<Answer>{{0, 0, 1, 0}, {1, 1, 1, 0}, {2, 2, 0, 0}, {2, 3, 1, 0}}));
}

TEST_F(XapiSourceTest, PseudonymisesEveryKindOfActorId) {
  const Pseudonymizer pseudonymizer = MakePseudonymizer();
  auto log = Load(load_,
                  Statement(Account("ann-raw"), "q", "s", "true", "2024-01-01T00:00:00Z") +
                      Statement(R"({"mbox":"mailto:bob-raw@school.example"})", "q", "s", "true",
                                "2024-01-01T00:00:00Z"),
                  &pseudonymizer);
  EXPECT_EQ(log.pupil_keys,
            (std::vector<std::string>{pseudonymizer.Pseudonym("ann-raw"),
                                      pseudonymizer.Pseudonym("mailto:bob-raw@school.example")}));
  for (const std::string& key : log.pupil_keys) EXPECT_THAT(key, Not(HasSubstr("raw")));
}

TEST_F(XapiSourceTest, ErrorsNameLineAndField) {
  const std::string good = Statement(Account("a"), "q", "s", "true", "2024-01-01T00:00:00Z");
  ExpectError(load_, good + "{not json\n", "2", {"statement", "not JSON"});
  ExpectError(load_, good + "[1,2]\n", "2", {"statement", "not a JSON object"});
  ExpectError(load_, good + std::string(100, '[') + std::string(100, ']') + "\n", "2",
              {"nested deeper"});
  ExpectError(load_, Statement(Account("a"), "q", "s", "\"yes\"", "2024-01-01T00:00:00Z"), "1",
              {"result.success"});
  ExpectError(load_, Statement(R"({"name":"no id"})", "q", "s", "true", "2024-01-01T00:00:00Z"),
              "1", {"actor"});
  ExpectError(load_, Statement(Account("a"), "", "s", "true", "2024-01-01T00:00:00Z"), "1",
              {"object.id"});
  ExpectError(load_, Statement(Account("a"), "q", "", "true", "2024-01-01T00:00:00Z"), "1",
              {"skill"});
  ExpectError(load_, Statement(Account("a"), "q", "s", "true", "2024-02-30T00:00:00Z"), "1",
              {"timestamp", "2024-02-30"});
  ExpectError(load_, Statement(Account("a"), "q", "s", "true", "yesterday"), "1", {"timestamp"});
  ExpectError(
      load_,
      good +
          R"({"actor":{"account":{"name":"a"}},"object":{"id":"q","definition":)"
          R"({"extensions":{"x/skill":[1]}}},"result":{"success":true},"timestamp":"2024-01-01T00:00:00Z"})"
          "\n",
      "2", {"object.definition.extensions", "x/skill"});
}

TEST_F(XapiSourceTest, InvalidUtf8IsAnErrorNotACrash) {
  ExpectError(load_, "{\"actor\":{\"account\":{\"name\":\"\xff\xfe\"}}}\n", "1", {"not JSON"});
}

TEST_F(XapiSourceTest, EmptyFilesAndFilesWithoutAnswersAreErrors) {
  ExpectError(load_, "", "", {"no statement with a result.success among 0"});
  ExpectError(load_, Statement(Account("a"), "q", "s", "", "2024-01-01T00:00:00Z"), "",
              {"no statement with a result.success among 1"});
}

TEST_F(XapiSourceTest, LoadDataDispatchesXapi) {
  auto log = LoadData("xapi:" + Write("lrs.jsonl", Statement(Account("a"), "q", "s", "true",
                                                             "2024-01-01T00:00:00Z"))
                                    .string());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->num_items, 1u);
}

}  // namespace
}  // namespace cartable::ingest
