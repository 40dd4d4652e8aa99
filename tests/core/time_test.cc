#include "steadyeye/core/time.h"

#include <gtest/gtest.h>

namespace steadyeye {
namespace {

TEST(Time, FormatsAndParsesIso8601AndEpochMillis) {
  EXPECT_EQ(FormatUnixMillis(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUnixMillis(1796271757123), "2026-12-03T04:22:37.123Z");
  EXPECT_EQ(*ParseTimestamp("2026-12-03T04:22:37.123Z"), 1796271757123);
  EXPECT_EQ(*ParseTimestamp("2026-12-03T04:22:37+00:00"), 1796271757000);
  EXPECT_EQ(*ParseTimestamp("1796271757123"), 1796271757123);
  EXPECT_EQ(*ParseTimestamp(FormatUnixMillis(1796271757001)), 1796271757001);
  for (const char* bad : {"", "yesterday", "2026-13-01T00:00:00Z", "2026-12-03T04:22:37",
                          "2026-12-03T04:22:37+02:00", "12abc"}) {
    const auto t = ParseTimestamp(bad);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseTimestamp("soon").status().message().find("ISO 8601"), std::string::npos);
  EXPECT_GT(UnixMillisNow(), 1796000000000 - 100000000000);
  EXPECT_EQ(UtcNowIso8601().size(), 20u);
}

}  // namespace
}  // namespace steadyeye
