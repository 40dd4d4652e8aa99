#include "steadyeye/core/hash.h"

#include <gtest/gtest.h>

namespace steadyeye {
namespace {

TEST(Sha256, MatchesKnownVectors) {
  Sha256 empty;
  EXPECT_EQ(ToHex(empty.Finish()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.Update("abc");
  EXPECT_EQ(ToHex(abc.Finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  const std::string text = "steadyeye keeps accuracy in production";
  Sha256 parts;
  parts.Update(text.substr(0, 10));
  parts.Update(text.substr(10));
  const auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  EXPECT_EQ(parts.Finish(), Sha256Of(bytes));
}

}  // namespace
}  // namespace steadyeye
