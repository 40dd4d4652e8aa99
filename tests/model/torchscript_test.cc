#include <gtest/gtest.h>

#include "steadyeye/model/classifier.h"
#include "test_util.h"
#include "torchscript_module.h"

namespace steadyeye {
namespace {

ModelCard CardFor(int classes) {
  ModelCard card;
  for (int i = 0; i < classes; ++i) card.class_names.push_back("c" + std::to_string(i));
  return card;  // default input: 1x28x28
}

TEST(TorchScript, ImportedModelComputesWhatTheScriptComputes) {
  testing::TempDir dir;
  auto module = MakeScriptClassifier(4);
  module.save((dir / "net.pt").string());
  auto model = ImportTorchScript(dir / "net.pt", CardFor(4));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->card().kind, "torchscript");

  const auto x = torch::randn({3, 1, 28, 28});
  module.eval();
  const auto expected = module.forward({x}).toTensor();
  const auto got = (*model)->Logits(std::span<const float>(x.data_ptr<float>(), x.numel()), 3);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const auto got_t = torch::from_blob(const_cast<float*>(got->data()), {3, 4});
  EXPECT_TRUE(torch::allclose(got_t, expected, 1e-4, 1e-4));

  // Saved and loaded as a bundle, it gives the same numbers.
  ASSERT_TRUE((*model)->Save(dir / "net.seye").ok());
  auto loaded = Classifier::Load(dir / "net.seye");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*(*loaded)->Logits(std::span<const float>(x.data_ptr<float>(), x.numel()), 3), *got);
}

TEST(TorchScript, ClassCountMismatchAndNonScriptsAreRejected) {
  testing::TempDir dir;
  MakeScriptClassifier(4).save((dir / "net.pt").string());
  const auto wrong = ImportTorchScript(dir / "net.pt", CardFor(5));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("the card has 5"), std::string::npos);

  std::ofstream(dir / "junk.pt") << "definitely not a zip archive";
  const auto junk = ImportTorchScript(dir / "junk.pt", CardFor(4));
  EXPECT_EQ(junk.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(junk.status().message().find("not a loadable TorchScript module"), std::string::npos);
}

}  // namespace
}  // namespace steadyeye
