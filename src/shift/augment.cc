#include "steadyeye/shift/augment.h"

#include <random>
#include <string>
#include <vector>

#include "steadyeye/shift/shift.h"

namespace steadyeye {

namespace {

using Rng = std::mt19937_64;

const std::vector<std::string>& Anticipated() {
  static const std::vector<std::string> kNames = ConditionNames(/*held_out=*/false);
  return kNames;
}

StatusOr<Image> RandomCondition(const Image& image, Rng& rng) {
  const auto& names = Anticipated();
  const std::string& name = names[std::uniform_int_distribution<size_t>(0, names.size() - 1)(rng)];
  const int severity = std::uniform_int_distribution<int>(kMinSeverity, kMaxSeverity)(rng);
  return ApplyCondition(image, name, severity, rng());
}

// Gamma(1,1) draws normalised: a Dirichlet(1, ..., 1) sample.
std::vector<double> DirichletOnes(int n, Rng& rng) {
  std::exponential_distribution<double> exp1(1.0);
  std::vector<double> w(n);
  double sum = 0;
  for (double& v : w) sum += v = exp1(rng) + 1e-12;
  for (double& v : w) v /= sum;
  return w;
}

StatusOr<Image> AugMix(const Image& image, const ProductionViewOptions& o, Rng& rng) {
  const std::vector<double> weights = DirichletOnes(o.width, rng);
  std::vector<double> mixed(image.pixels.size(), 0.0);
  for (int chain = 0; chain < o.width; ++chain) {
    Image view = image;
    const int depth = std::uniform_int_distribution<int>(1, o.max_depth)(rng);
    for (int d = 0; d < depth; ++d) {
      SEYE_ASSIGN_OR_RETURN(view, RandomCondition(view, rng));
    }
    for (size_t i = 0; i < mixed.size(); ++i) mixed[i] += weights[chain] * view.pixels[i];
  }
  const double keep = std::uniform_real_distribution<double>(0.0, 1.0)(rng);  // Beta(1,1)
  Image out = image;
  for (size_t i = 0; i < mixed.size(); ++i) {
    out.pixels[i] = uint8_t(keep * image.pixels[i] + (1 - keep) * mixed[i] + 0.5);
  }
  return out;
}

}  // namespace

StatusOr<Image> ProductionView(const Image& image, uint64_t seed, const ProductionViewOptions& o) {
  if (image.empty()) return InvalidArgumentError("cannot make a production view of an empty image");
  if (o.width < 1 || o.max_depth < 1 || o.pure_share < 0 || o.pure_share > 1) {
    return InvalidArgumentError("production views need width, depth >= 1 and a share in 0..1");
  }
  Rng rng(seed);
  if (std::uniform_real_distribution<double>(0.0, 1.0)(rng) < o.pure_share)
    return RandomCondition(image, rng);
  return AugMix(image, o, rng);
}

}  // namespace steadyeye
