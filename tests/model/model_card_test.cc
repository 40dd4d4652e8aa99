#include "steadyeye/model/model_card.h"

#include <gtest/gtest.h>

#include <functional>

namespace steadyeye {
namespace {

nlohmann::json ValidCard() {
  ModelCard card;
  card.id = "abc";
  card.kind = "native";
  card.architecture = "seye-cnn";
  card.class_names = {"a", "b"};
  return card.ToJson();
}

TEST(ModelCard, RoundTripsThroughJson) {
  const auto card = ModelCard::FromJson(ValidCard());
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  EXPECT_EQ(card->ToJson(), ValidCard());
}

TEST(ModelCard, RefusesInvalidCardsWithTheReason) {
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> damage;
    StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"newer format", [](auto& j) { j["format"] = 99; }, StatusCode::kFailedPrecondition, "newer"},
      {"unknown kind", [](auto& j) { j["kind"] = "onnx"; }, StatusCode::kFailedPrecondition, "'onnx'"},
      {"one class", [](auto& j) { j["class_names"] = {"a"}; }, StatusCode::kInvalidArgument, "at least 2"},
      {"duplicate classes", [](auto& j) { j["class_names"] = {"a", "a"}; }, StatusCode::kInvalidArgument, "unique"},
      {"missing field", [](auto& j) { j.erase("class_names"); }, StatusCode::kInvalidArgument, "class_names"},
      {"wrong type", [](auto& j) { j["input"]["height"] = "tall"; }, StatusCode::kInvalidArgument, "invalid model card"},
      {"bad input", [](auto& j) { j["input"]["channels"] = 2; }, StatusCode::kInvalidArgument, "channels"},
  };
  for (const auto& c : cases) {
    auto j = ValidCard();
    c.damage(j);
    const auto r = ModelCard::FromJson(j);
    EXPECT_EQ(r.status().code(), c.code) << c.what;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << c.what << ": " << r.status().message();
  }
}

}  // namespace
}  // namespace steadyeye
