#include "ingest/pupil_attributes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data_file_test.h"
#include "ingest/formats.h"

namespace cartable::ingest {
namespace {

using ::testing::HasSubstr;

class PupilAttributesTest : public testing::TempDirTest {};

TEST_F(PupilAttributesTest, OuladAttributesAreKeyedLikeTheLogAndTakeTheFirstRegistration) {
  Write("studentInfo.csv",
        "code_module,code_presentation,id_student,gender,region,highest_education,imd_band,"
        "age_band,num_of_prev_attempts,studied_credits,disability,final_result\n"
        "AAA,2013J,1001,M,Scotland,HE,90-100%,55<=,0,60,N,Pass\n"
        "AAA,2013J,1002,F,,No Formal quals,,0-35,2,120,Y,Withdrawn\n"
        "BBB,2014B,1001,M,Wales,HE,20-Oct,55<=,1,60,N,Fail\n");
  auto region = LoadPupilAttribute("oulad:" + dir_.string() + "?cutoff=30", "region");
  ASSERT_TRUE(region.ok()) << region.status();
  // Keys as the oulad adapter numbers students without a pseudonymizer.
  EXPECT_EQ(region->at("s1"), "Scotland");  // the first registration's
  EXPECT_EQ(region->at("s2"), "unknown");
  EXPECT_EQ(region->size(), 2u);
  auto pseudonymizer = Pseudonymizer::LoadOrCreate(dir_ / "k.key").value();
  auto module = LoadPupilAttribute("oulad:" + dir_.string(), "code_module", &pseudonymizer);
  ASSERT_TRUE(module.ok()) << module.status();
  EXPECT_EQ(module->at(pseudonymizer.Pseudonym("1001")), "AAA");
}

TEST_F(PupilAttributesTest, CsvAttributesAreTheLogsExtraColumns) {
  Write("answers.csv",
        "pupil_id,skill_id,correct,school\np1,0,1,north\np2,1,0,south\np1,2,1,elsewhere\n");
  auto school = LoadPupilAttribute("csv:" + (dir_ / "answers.csv").string(), "school");
  ASSERT_TRUE(school.ok()) << school.status();
  EXPECT_EQ(school->at("p1"), "north");
  EXPECT_EQ(school->at("p2"), "south");
  auto log = LoadData("csv:" + (dir_ / "answers.csv").string());
  ASSERT_TRUE(log.ok()) << log.status();
  for (const std::string& key : log->pupil_keys) EXPECT_TRUE(school->contains(key)) << key;
}

// An xAPI answer by `pupil`, with `context` as the statement's context.
std::string XapiAnswer(const std::string& pupil, const std::string& context) {
  return R"({"actor":{"account":{"homePage":"https://school.example","name":")" + pupil +
         R"("}},"object":{"id":"q/1","definition":{"extensions":{"https://x.example/skill":"frac"}}},)" +
         R"("result":{"success":true},"timestamp":"2024-03-05T10:00:00Z","context":)" + context +
         "}\n";
}

TEST_F(PupilAttributesTest, XapiAttributesComeFromContextExtensionsOrTheTeam) {
  Write(
      "statements.jsonl",
      XapiAnswer("ann", R"({"extensions":{"https://x.example/ext/Group":"6e B"}})") +
          // A statement without result.success may carry a pupil's group too.
          R"({"actor":{"mbox":"mailto:bob@school.example"},"verb":{"id":"registered"},)" +
          R"("object":{"id":"class"},"context":{"team":{"objectType":"Group","name":"5e A"}}})" +
          "\n" + XapiAnswer("cy", "{}") + XapiAnswer("dan", "{}") +
          XapiAnswer(
              "dan",
              R"({"extensions":{"https://x.example/group":3,"https://x.example/school":"Jules Ferry"}})") +
          XapiAnswer("ann", R"({"extensions":{"https://x.example/group":"elsewhere"}})") +
          // A key that merely ends in the letters is not the attribute; values are trimmed.
          XapiAnswer("eve", R"({"extensions":{"https://x.example/agegroup":"11-12",)"
                            R"("https://x.example/group":" 4e C "}})") +
          R"({"actor":{"mbox":"mailto:bob@school.example"},"object":{"id":"q/2"},)" +
          R"("context":{"extensions":{"https://x.example/skill":"dec"}},)" +
          R"("result":{"success":false},"timestamp":"2024-03-05T11:00:00Z"})" + "\n");
  const std::string spec = "xapi:" + (dir_ / "statements.jsonl").string();
  auto group = LoadPupilAttribute(spec, "group");
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->at("ann"), "6e B");  // the first statement that carries one
  EXPECT_EQ(group->at("mailto:bob@school.example"), "5e A");
  EXPECT_EQ(group->at("cy"), "unknown");
  EXPECT_EQ(group->at("dan"), "3");
  EXPECT_EQ(group->at("eve"), "4e C");
  auto log = LoadData(spec);
  ASSERT_TRUE(log.ok()) << log.status();
  for (const std::string& key : log->pupil_keys) EXPECT_TRUE(group->contains(key)) << key;

  auto pseudonymizer = Pseudonymizer::LoadOrCreate(dir_ / "k.key").value();
  auto school = LoadPupilAttribute(spec, "school", &pseudonymizer);
  ASSERT_TRUE(school.ok()) << school.status();
  EXPECT_EQ(school->at(pseudonymizer.Pseudonym("dan")), "Jules Ferry");
  EXPECT_EQ(school->at(pseudonymizer.Pseudonym("ann")), "unknown");
  EXPECT_FALSE(school->contains("dan")) << "keys are pseudonyms, as the log's";

  Write("bad.jsonl",
        XapiAnswer("ann", "{}") +
            XapiAnswer("bob", R"({"extensions":{"https://x.example/group":{"a":1}}})"));
  auto bad = LoadPupilAttribute("xapi:" + (dir_ / "bad.jsonl").string(), "group");
  EXPECT_THAT(bad.status().message(), HasSubstr(":2"));
  EXPECT_THAT(bad.status().message(), HasSubstr("context.extensions"));
  EXPECT_THAT(LoadPupilAttribute(spec, "region").status().message(),
              HasSubstr("known: group, school"));
}

TEST_F(PupilAttributesTest, UnknownColumnsAndFormatsWithoutAttributesAreRefusedSayingWhatThereIs) {
  Write("answers.csv", "pupil_id,skill_id,correct\np1,0,1\n");
  const std::string csv = "csv:" + (dir_ / "answers.csv").string();
  EXPECT_THAT(LoadPupilAttribute(csv, "school").status().message(), HasSubstr("school"));
  EXPECT_THAT(LoadPupilAttribute(csv, "skill_id").status().message(),
              HasSubstr("known: group, school"));
  EXPECT_THAT(LoadPupilAttribute("oulad:" + dir_.string(), "favourite_colour").status().message(),
              HasSubstr("known: code_module"));
  EXPECT_THAT(LoadPupilAttribute("kt3:" + dir_.string() + "/x.txt", "region").status().message(),
              HasSubstr("only csv and xapi"));
}

}  // namespace
}  // namespace cartable::ingest
