#include <gtest/gtest.h>

#include "steadyeye/core/file.h"
#include "test_util.h"
#include "tiny_model.h"

namespace steadyeye {
namespace {

class DamagedBundle : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = testing::TrainTinyModel();
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    ASSERT_TRUE((*model)->Save(path()).ok());
    bytes_ = *ReadFileBytes(path());
  }
  std::filesystem::path path() const { return dir_ / "m.seye"; }
  StatusOr<std::unique_ptr<Classifier>> LoadWith(const std::vector<uint8_t>& bytes) {
    EXPECT_TRUE(WriteFileAtomic(dir_ / "bad.seye", bytes).ok());
    return Classifier::Load(dir_ / "bad.seye");
  }

  testing::TempDir dir_;
  std::vector<uint8_t> bytes_;
};

TEST_F(DamagedBundle, IntactFileLoads) { EXPECT_TRUE(Classifier::Load(path()).ok()); }

TEST_F(DamagedBundle, FlippedByteFailsTheChecksum) {
  auto bytes = bytes_;
  bytes[bytes.size() / 2] ^= 0x40;
  const auto r = LoadWith(bytes);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("checksum mismatch"), std::string::npos);
}

TEST_F(DamagedBundle, TruncatedFileIsReported) {
  auto bytes = bytes_;
  bytes.resize(bytes.size() - 100);
  const auto r = LoadWith(bytes);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos);
}

TEST_F(DamagedBundle, OtherFilesAreNotBundles) {
  const std::string png = "\x89PNG\r\n\x1a\n and more bytes to pass the length check ..........";
  const auto r = LoadWith(std::vector<uint8_t>(png.begin(), png.end()));
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("not a steadyeye model bundle"), std::string::npos);
  EXPECT_EQ(Classifier::Load(dir_ / "missing.seye").status().code(), StatusCode::kNotFound);
}

TEST_F(DamagedBundle, NewerContainerVersionIsRefusedClearly) {
  auto bytes = bytes_;
  bytes[8] = 99;  // container version field
  const auto r = LoadWith(bytes);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("version 99"), std::string::npos);
}

}  // namespace
}  // namespace steadyeye
