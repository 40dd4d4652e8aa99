#include "steadyeye/sim/scenario.h"

#include <gtest/gtest.h>

#include "steadyeye/core/file.h"

namespace steadyeye {
namespace {

constexpr const char* kMinimal = R"(
days: 10
sites:
  - name: A
    events:
      - {condition: glare, severity: 3, from_day: 5, hours: [20, 6]}
  - name: B
    events:
      - {condition: dust, severity: [1, 4], from_day: 3, to_day: 9}
)";

TEST(Scenario, ParsesSitesAndEventsAndKeepsDefaults) {
  auto s = ParseScenario(kMinimal);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->days, 10);
  EXPECT_EQ(s->images_per_site_day, Scenario{}.images_per_site_day);
  ASSERT_EQ(s->sites.size(), 2u);
  EXPECT_EQ(s->sites[0].camera, "line-1");
  ASSERT_EQ(s->sites[1].events.size(), 1u);
  EXPECT_EQ(s->sites[1].events[0].severity_start, 1);
  EXPECT_EQ(s->sites[1].events[0].severity_end, 4);
  EXPECT_FALSE(s->redesign.has_value());
  EXPECT_EQ(s->loop.drift_action, DriftAction::kSuspend);
  EXPECT_EQ(s->alpha, kDefaultAlpha);
  const auto strict = ParseScenario(std::string(kMinimal) + "alpha: 0.005\ndelta: 0.1\n");
  ASSERT_TRUE(strict.ok()) << strict.status().ToString();
  EXPECT_EQ(strict->alpha, 0.005);
  EXPECT_EQ(strict->delta, 0.1);
  const auto tighten = ParseScenario(std::string(kMinimal) + "loop: {drift_action: tighten}\n");
  ASSERT_TRUE(tighten.ok()) << tighten.status().ToString();
  EXPECT_EQ(tighten->loop.drift_action, DriftAction::kTighten);
}

TEST(Scenario, NightWindowWrapsMidnightAndStartsOnItsDay) {
  const SiteEvent glare = ParseScenario(kMinimal)->sites[0].events[0];
  EXPECT_FALSE(glare.SeverityAt(4.9, 22));  // before day 5
  EXPECT_EQ(glare.SeverityAt(5.9, 22), 3);
  EXPECT_EQ(glare.SeverityAt(6.1, 2), 3);   // after midnight, still night
  EXPECT_FALSE(glare.SeverityAt(6.5, 12));  // noon
}

TEST(Scenario, DustRampsUpAndEndsWhenCleaned) {
  const SiteEvent dust = ParseScenario(kMinimal)->sites[1].events[0];
  EXPECT_FALSE(dust.SeverityAt(2.5, 12));
  EXPECT_EQ(dust.SeverityAt(3, 0), 1);
  EXPECT_EQ(dust.SeverityAt(8.99, 0), 4);
  EXPECT_FALSE(dust.SeverityAt(9, 0));  // cleaned
}

TEST(Scenario, BadScenariosNameTheirFault) {
  const std::pair<const char*, const char*> cases[] = {
      {"days: 10\nsites: []\n", "at least one site"},
      {"days: 10\nsitez: []\n", "unknown field 'sitez'"},
      {"sites:\n  - name: A\n    events:\n      - {condition: rain}\n", "unknown condition"},
      {"sites:\n  - name: A\n    events:\n      - {condition: dust, severity: 9}\n",
       "severity must be 1..5"},
      {"days: ten\nsites:\n  - name: A\n", "days has the wrong type"},
      {"sites:\n  - name: 'a b/c'\n", "name"},
      {"redesign: {day: 20}\nsites:\n  - name: A\n", "redesign.class is required"},
      {"sites: [\n", "not valid YAML"},
      {"alpha: 0\nsites:\n  - name: A\n", "alpha and scenario.delta must be in (0, 1)"},
      {"loop: {drift_action: relax}\nsites:\n  - name: A\n",
       "loop.drift_action: unknown drift action 'relax'"},
  };
  for (const auto& [text, fault] : cases) {
    const auto s = ParseScenario(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.status().message().find(fault), std::string::npos)
        << text << " -> " << s.status().message();
  }
}

TEST(Scenario, RedesignTurnsTheItemAQuarter) {
  Image image(3, 2, 1);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t(i);
  const Image turned = Redesign{}.Apply(image);
  ASSERT_EQ(turned.width, 2);
  ASSERT_EQ(turned.height, 3);
  // Clockwise: the bottom-left pixel goes to the top-left, the top-left to the top-right.
  EXPECT_EQ(turned.at(0, 0), image.at(0, 1));
  EXPECT_EQ(turned.at(1, 0), image.at(0, 0));
  EXPECT_EQ(turned.at(1, 2), image.at(2, 0));
}

TEST(Scenario, ScaledKeepsTheStoryAndScalesCapacityAndTrigger) {
  Scenario s = *ParseScenario(kMinimal);
  s.images_per_site_day = 160;
  s.reviewers.capacity_per_day = 400;
  s.loop.retrain_every = 400;
  const Scenario q = s.Scaled(40);
  EXPECT_EQ(q.images_per_site_day, 40);
  EXPECT_EQ(q.reviewers.capacity_per_day, 100);
  EXPECT_EQ(q.loop.retrain_every, 100u);
  EXPECT_EQ(q.loop.lab_replay, 750u);
  EXPECT_EQ(q.loop.min_shadow_images, 10u);  // 40 by default: a quarter day's images
  EXPECT_EQ(q.sites.size(), s.sites.size());
}

TEST(Scenario, TheShippedScenarioParses) {
  auto s = LoadScenario(SEYE_SCENARIO_DIR "/four-sites.yaml");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->days, 30);
  EXPECT_EQ(s->sites.size(), 4u);
  EXPECT_EQ(s->loop.min_shadow_images, 40u);
  EXPECT_EQ(s->alpha, 0.005);
  ASSERT_TRUE(s->redesign.has_value());
  EXPECT_EQ(s->redesign->day, 20);
}

}  // namespace
}  // namespace steadyeye
