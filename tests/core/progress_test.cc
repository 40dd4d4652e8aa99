#include "steadyeye/core/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace steadyeye {
namespace {

std::string Drain(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof(buf), f)) out += buf;
  return out;
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  {
    Progress p("work", 100, "img", f);
    EXPECT_FALSE(p.interactive());
    for (int i = 1; i <= 100; ++i) p.Update(i, "loss 0.5");
  }
  const std::string out = Drain(f);
  std::fclose(f);
  // One line per 10% step plus the final line; no carriage returns.
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_NE(out.find("work  50% 50/100  loss 0.5"), std::string::npos);
  EXPECT_NE(out.find("took"), std::string::npos);
  EXPECT_LE(std::count(out.begin(), out.end(), '\n'), 12);
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(FormatDuration(65), "1:05");
  EXPECT_EQ(FormatDuration(3 * 3600 + 62), "3:01:02");
  EXPECT_EQ(FormatDuration(-1), "?");
}

}  // namespace
}  // namespace steadyeye
