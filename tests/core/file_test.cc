#include "steadyeye/core/file.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace steadyeye {
namespace {

TEST(File, AtomicWriteThenRead) {
  testing::TempDir dir;
  const auto path = dir / "sub" / "a.bin";
  ASSERT_TRUE(WriteFileAtomic(path, std::string("hello")).ok());
  ASSERT_TRUE(WriteFileAtomic(path, std::string("replaced")).ok());
  const auto bytes = ReadFileBytes(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()), "replaced");
  // No temporary file is left behind.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "sub")) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST(File, ReadErrorsSayWhy) {
  testing::TempDir dir;
  EXPECT_EQ(ReadFileBytes(dir / "missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFileBytes(dir.path()).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(dir / "big", std::string(100, 'x')).ok());
  const auto r = ReadFileBytes(dir / "big", 10);
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("100 bytes"), std::string::npos);
}

}  // namespace
}  // namespace steadyeye
