#include "steadyeye/core/status.h"

#include <gtest/gtest.h>

namespace steadyeye {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}

StatusOr<int> Quarter(int x) {
  SEYE_ASSIGN_OR_RETURN(int h, Half(x));
  SEYE_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, CarriesCodeAndMessage) {
  const Status s = NotFoundError("no model");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: no model");
  EXPECT_EQ(s.WithContext("loading m.seye").message(), "loading m.seye: no model");
  EXPECT_EQ(Status::Ok().ToString(), "OK");
}

TEST(StatusOr, PropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  const auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "odd: 3");
}

}  // namespace
}  // namespace steadyeye
