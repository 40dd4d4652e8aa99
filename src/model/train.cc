#include "steadyeye/model/train.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numbers>
#include <random>

#include "native_classifier.h"
#include "steadyeye/model/predict.h"
#include "steadyeye/shift/augment.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye {

namespace {

using internal::SeyeCnn;
constexpr int kMaxShift = 2;
constexpr size_t kEvalBatch = 500;

Status CheckInputs(const Dataset& train, const Dataset& val, const InputSpec& spec,
                   const TrainOptions& o) {
  SEYE_RETURN_IF_ERROR(spec.Validate());
  for (const Dataset* d : {&train, &val}) {
    if (d->channels != spec.channels || d->height != spec.height || d->width != spec.width) {
      return InvalidArgumentError("training data does not match the input spec " +
                                  spec.ShapeString());
    }
  }
  if (train.class_names.size() < 2)
    return InvalidArgumentError("training needs at least 2 classes");
  if (val.class_names != train.class_names) {
    return InvalidArgumentError("validation and training data have different classes");
  }
  if (train.size() < size_t(o.batch_size) || val.size() == 0) {
    return InvalidArgumentError("too little data: " + std::to_string(train.size()) +
                                " training images (need at least one batch of " +
                                std::to_string(o.batch_size) + ") and " +
                                std::to_string(val.size()) + " validation images");
  }
  if (o.robust &&
      (!o.augment || o.batch_size < 4 || !(o.production_share > 0 && o.production_share <= 1))) {
    return InvalidArgumentError(
        "robust training needs a batch size >= 4, a production share in (0, 1] and the standard "
        "augmentation; train with standard settings to turn augmentation off");
  }
  if (o.epochs < 0 || o.batch_size < 2 || !(o.learning_rate > 0) || o.patience < 1) {
    return InvalidArgumentError(
        "epochs >= 0, patience >= 1, batch size >= 2 and learning rate > 0 required");
  }
  if (o.widths.empty() || o.widths.size() != o.depths.size()) {
    return InvalidArgumentError("need one depth per stage width");
  }
  return Status::Ok();
}

// Random erasing (Zhong et al., 2017): with probability 1/2, a rectangle covering 2-33% of the
// image (aspect 0.3-3.3) is replaced by random pixel values, so the model learns to use the
// whole item rather than one telling patch.
void EraseRandomRectangle(const InputSpec& spec, std::mt19937_64& rng, float* dst) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (unit(rng) < 0.5) return;
  const int w = spec.width, h = spec.height;
  const double area = (0.02 + 0.31 * unit(rng)) * w * h;
  const double aspect = std::exp(std::log(0.3) + (std::log(3.3) - std::log(0.3)) * unit(rng));
  const int ew = std::min(w, std::max(1, int(std::sqrt(area * aspect))));
  const int eh = std::min(h, std::max(1, int(std::sqrt(area / aspect))));
  const int x0 = int(unit(rng) * (w - ew + 1)), y0 = int(unit(rng) * (h - eh + 1));
  std::uniform_int_distribution<int> pixel(0, 255);
  for (int ch = 0; ch < spec.channels; ++ch) {
    const float scale = 1.0f / (255.0f * spec.std[ch]);
    const float offset = spec.mean[ch] / spec.std[ch];
    float* plane = dst + size_t(ch) * h * w;
    for (int y = y0; y < y0 + eh; ++y) {
      for (int x = x0; x < x0 + ew; ++x) plane[y * w + x] = float(pixel(rng)) * scale - offset;
    }
  }
}

// The image randomly shifted by up to kMaxShift pixels (edge pixels repeated) and mirrored:
// the base that both training views start from.
Image ShiftedFlipped(std::span<const uint8_t> src, const InputSpec& spec, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> shift(-kMaxShift, kMaxShift);
  const int dx = shift(rng), dy = shift(rng);
  const bool flip = (rng() & 1) != 0;
  const int w = spec.width, h = spec.height, c = spec.channels;
  Image out(w, h, c);
  for (int y = 0; y < h; ++y) {
    const int sy = std::clamp(y - dy, 0, h - 1);
    for (int x = 0; x < w; ++x) {
      const int sx = std::clamp((flip ? w - 1 - x : x) - dx, 0, w - 1);
      for (int ch = 0; ch < c; ++ch)
        out.pixels[(size_t(y) * w + x) * c + ch] = src[(size_t(sy) * w + sx) * c + ch];
    }
  }
  return out;
}

// Writes one image, randomly shifted, mirrored and partly erased, as normalised CHW.
void AugmentInto(std::span<const uint8_t> src, const InputSpec& spec, std::mt19937_64& rng,
                 float* dst) {
  const Image base = ShiftedFlipped(src, spec, rng);
  Normalize(base.pixels, spec, std::span<float>(dst, spec.values_per_image()));
  EraseRandomRectangle(spec, rng, dst);
}

// Robust training's pair of views of one image: the ordinary augmented view and a production
// view (anticipated conditions) of the same shifted, mirrored base. Own RNG per image, so pairs
// can be built in parallel and stay deterministic.
Status MakeViewPair(std::span<const uint8_t> src, const InputSpec& spec, uint64_t seed,
                    const ProductionViewOptions& views, float* clean, float* production) {
  std::mt19937_64 rng(seed);
  const Image base = ShiftedFlipped(src, spec, rng);
  const size_t per = spec.values_per_image();
  Normalize(base.pixels, spec, std::span<float>(clean, per));
  EraseRandomRectangle(spec, rng, clean);
  if (production == nullptr) return Status::Ok();  // this image gets its clean view only
  SEYE_ASSIGN_OR_RETURN(const Image view, ProductionView(base, rng(), views));
  Normalize(view.pixels, spec, std::span<float>(production, per));
  return Status::Ok();
}

// Rows [0, n) get the clean views of the n `images`, rows [n, n + pairs) the production views
// of the first `pairs` of them.
Status FillPairedBatch(const Dataset& train, std::span<const size_t> images, size_t pairs,
                       const InputSpec& spec, const ProductionViewOptions& views,
                       std::mt19937_64& rng, float* batch, int64_t* labels) {
  const size_t n = images.size(), per = spec.values_per_image();
  std::vector<uint64_t> seeds(n);
  for (auto& s : seeds) s = rng();
  std::vector<Status> errors(n);
  at::parallel_for(0, int64_t(n), 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      errors[i] = MakeViewPair(train.pixels_of(images[i]), spec, seeds[i], views, batch + i * per,
                               size_t(i) < pairs ? batch + (n + i) * per : nullptr);
    }
  });
  for (size_t i = 0; i < n; ++i) {
    SEYE_RETURN_IF_ERROR(errors[i]);
    labels[i] = train.labels[images[i]];
    if (i < pairs) labels[n + i] = labels[i];
  }
  return Status::Ok();
}

// Jensen-Shannon divergence between the predictions on the clean rows [0, pairs) and the
// production rows [n, n + pairs), averaged over pairs: AugMix's consistency loss with two views.
torch::Tensor PairConsistency(const torch::Tensor& logits, int64_t n, int64_t pairs) {
  const auto probs = torch::softmax(logits.to(torch::kFloat), 1);
  const auto clean = probs.narrow(0, 0, pairs), production = probs.narrow(0, n, pairs);
  const auto log_mixture = ((clean + production) * 0.5).clamp(1e-7, 1.0).log();
  namespace F = torch::nn::functional;
  const auto kl = F::KLDivFuncOptions().reduction(torch::kBatchMean);
  return 0.5 * (F::kl_div(log_mixture, clean, kl) + F::kl_div(log_mixture, production, kl));
}

struct EvalResult {
  double accuracy = 0;
  double nll = 0;
};

EvalResult Evaluate(SeyeCnn& net, const Dataset& data, const InputSpec& spec) {
  torch::NoGradGuard no_grad;
  net->eval();
  const size_t per = spec.values_per_image();
  size_t correct = 0;
  double nll = 0;
  std::vector<float> buffer;
  for (size_t start = 0; start < data.size(); start += kEvalBatch) {
    const size_t n = std::min(kEvalBatch, data.size() - start);
    buffer.resize(n * per);
    NormalizeRange(data, start, n, spec, buffer.data());
    const auto x =
        torch::from_blob(buffer.data(), {int64_t(n), spec.channels, spec.height, spec.width})
            .contiguous(at::MemoryFormat::ChannelsLast);
    const auto labels =
        torch::from_blob(const_cast<int*>(data.labels.data() + start), {int64_t(n)}, torch::kInt32)
            .to(torch::kLong);
    const auto log_probs = torch::log_softmax(net->forward(x), 1);
    correct += log_probs.argmax(1).eq(labels).sum().item<int64_t>();
    nll -= log_probs.gather(1, labels.unsqueeze(1)).sum().item<double>();
  }
  net->train();
  return {double(correct) / double(data.size()), nll / double(data.size())};
}

// Mixed precision for the training step: convolutions and matrix products run in bfloat16 while
// weights, BatchNorm statistics and the optimizer stay in float32. Only where the CPU has native
// bfloat16 dot products (AVX512_BF16); elsewhere oneDNN would emulate them and be slower. Measured
// here: 1.5x more training images/s for seye-cnn at batch 128 on 2 threads.
bool NativeBf16Available() { return __builtin_cpu_supports("avx512bf16"); }

class AutocastBf16 {
 public:
  explicit AutocastBf16(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  ~AutocastBf16() {
    if (!enabled_) return;
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  AutocastBf16(const AutocastBf16&) = delete;
  AutocastBf16& operator=(const AutocastBf16&) = delete;

 private:
  bool enabled_;
};

using Snapshot = std::map<std::string, torch::Tensor>;

Snapshot TakeSnapshot(SeyeCnn& net) {
  Snapshot s;
  for (const auto& p : net->named_parameters()) s[p.key()] = p.value().detach().clone();
  for (const auto& b : net->named_buffers()) s[b.key()] = b.value().detach().clone();
  return s;
}

void RestoreSnapshot(SeyeCnn& net, const Snapshot& s) {
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) p.value().copy_(s.at(p.key()));
  for (auto& b : net->named_buffers()) b.value().copy_(s.at(b.key()));
}

// Channels-last activations let oneDNN skip layout reorders in every training step.
void SetMemoryFormat(SeyeCnn& net, at::MemoryFormat format) {
  for (auto& p : net->parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(format));
  }
}

ModelCard MakeCard(const Dataset& train, const Dataset& val, const InputSpec& spec,
                   const TrainOptions& o) {
  ModelCard card;
  card.kind = "native";
  card.architecture = "seye-cnn";
  card.created_at = UtcNowIso8601();
  card.class_names = train.class_names;
  card.input = spec;
  card.seed = o.seed;
  card.threads = ComputeThreads();
  card.hyperparameters = {
      {"widths", o.widths},
      {"depths", o.depths},
      {"epochs", o.epochs},
      {"patience", o.patience},
      {"batch_size", o.batch_size},
      {"learning_rate", o.learning_rate},
      {"weight_decay", o.weight_decay},
      {"label_smoothing", o.label_smoothing},
      {"augment", o.augment ? "shift2+flip+erase" : "none"},
  };
  if (o.robust) {
    card.hyperparameters["robust"] = {
        {"method", "paired clean/production views, Jensen-Shannon consistency (AugMix, 2 views)"},
        {"consistency_weight", o.consistency_weight},
        {"production_share", o.production_share},
        {"pure_share", o.production_views.pure_share},
        {"mixture_width", o.production_views.width},
        {"mixture_max_depth", o.production_views.max_depth},
        {"conditions", ConditionNames(/*held_out=*/false)},
    };
  }
  card.training_data = {
      {"source", o.data_source},
      {"fingerprint", ToHex(train.Fingerprint())},
      {"validation_fingerprint", ToHex(val.Fingerprint())},
      {"n_train", train.size()},
      {"n_val", val.size()},
  };
  return card;
}

}  // namespace

InputSpec FitNormalization(const Dataset& data) {
  InputSpec spec;
  spec.channels = data.channels;
  spec.height = data.height;
  spec.width = data.width;
  spec.mean.assign(data.channels, 0.0f);
  spec.std.assign(data.channels, 1.0f);
  std::vector<double> sum(data.channels, 0), sq(data.channels, 0);
  for (size_t i = 0; i < data.pixels.size(); ++i) {
    const double v = data.pixels[i] / 255.0;
    sum[i % data.channels] += v;
    sq[i % data.channels] += v * v;
  }
  const double n = double(data.pixels.size() / std::max(1, data.channels));
  for (int c = 0; c < data.channels && n > 0; ++c) {
    const double mean = sum[c] / n;
    spec.mean[c] = float(mean);
    spec.std[c] = float(std::max(1e-3, std::sqrt(std::max(0.0, sq[c] / n - mean * mean))));
  }
  return spec;
}

namespace {

// The training loop shared by training from scratch and fine-tuning: trains `net` (described by
// `card`) in place and returns it as a classifier with the best validation epoch's weights.
// Runs inside GuardTorch.
StatusOr<std::unique_ptr<Classifier>> TrainNetwork(SeyeCnn net, ModelCard card,
                                                   const Dataset& train, const Dataset& val,
                                                   const InputSpec& spec, const TrainOptions& o) {
  {
    SetMemoryFormat(net, at::MemoryFormat::ChannelsLast);
    net->train();
    torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(o.learning_rate)
                                                       .momentum(0.9)
                                                       .nesterov(true)
                                                       .weight_decay(o.weight_decay));
    std::mt19937_64 rng(o.seed * 0x9E3779B97F4A7C15ull + 1);
    const bool bf16 = o.mixed_precision && NativeBf16Available();
    card.hyperparameters["precision"] = bf16 ? "bf16-autocast" : "fp32";
    const size_t per = spec.values_per_image();
    const int epochs = o.ResolvedEpochs();
    card.hyperparameters["epochs"] = epochs;
    // A robust step's rows are the clean views of its images plus production views of a share of
    // them: images + pairs = batch_size.
    const size_t pairs =
        o.robust ? size_t(std::lround(o.batch_size * o.production_share / (1 + o.production_share)))
                 : 0;
    const size_t images_per_step = o.batch_size - pairs;
    const size_t steps_per_epoch =
        train.size() / images_per_step;  // the last partial batch is dropped
    const size_t total_steps = steps_per_epoch * epochs;
    std::vector<size_t> order(train.size());
    std::iota(order.begin(), order.end(), 0);
    std::vector<float> batch(o.batch_size * per);
    std::vector<int64_t> labels(o.batch_size);

    Snapshot best;
    EvalResult best_eval{-1, 0};
    int best_epoch = 0, epochs_run = 0;
    size_t step = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      TrainProgress progress{epoch, epochs, 0, steps_per_epoch * images_per_step};
      double loss_sum = 0;
      size_t correct = 0;
      for (size_t s = 0; s < steps_per_epoch; ++s, ++step) {
        // One-epoch linear warm-up, then cosine decay to zero.
        const double t = double(step) / double(total_steps);
        const double warm = double(step + 1) / double(steps_per_epoch);
        const double lr =
            o.learning_rate * std::min(1.0, warm) * 0.5 * (1 + std::cos(std::numbers::pi * t));
        for (auto& group : optimizer.param_groups()) {
          static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
        }
        const std::span<const size_t> images(order.data() + s * images_per_step, images_per_step);
        if (o.robust) {
          SEYE_RETURN_IF_ERROR(FillPairedBatch(train, images, pairs, spec, o.production_views, rng,
                                               batch.data(), labels.data()));
        }
        for (int i = 0; !o.robust && i < o.batch_size; ++i) {
          const size_t idx = images[i];
          float* dst = batch.data() + i * per;
          if (o.augment) {
            AugmentInto(train.pixels_of(idx), spec, rng, dst);
          } else {
            Normalize(train.pixels_of(idx), spec, std::span<float>(dst, per));
          }
          labels[i] = train.labels[idx];
        }
        const auto x =
            torch::from_blob(batch.data(), {o.batch_size, spec.channels, spec.height, spec.width})
                .contiguous(at::MemoryFormat::ChannelsLast);
        const auto y = torch::from_blob(labels.data(), {o.batch_size}, torch::kLong);
        optimizer.zero_grad();
        torch::Tensor logits, loss;
        {
          AutocastBf16 autocast(bf16);
          logits = net->forward(x);
          loss = torch::nn::functional::cross_entropy(
              logits, y,
              torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing));
        }
        if (o.robust) {
          loss = loss + o.consistency_weight *
                            PairConsistency(logits, int64_t(images_per_step), int64_t(pairs));
        }
        loss.backward();
        optimizer.step();
        loss_sum += loss.item<double>();
        correct += logits.argmax(1).eq(y).sum().item<int64_t>();
        progress.seen = (s + 1) * images_per_step;
        progress.loss = loss_sum / double(s + 1);
        progress.accuracy = double(correct) / double((s + 1) * o.batch_size);
        if (o.on_progress) o.on_progress(progress);
      }
      const EvalResult eval = Evaluate(net, val, spec);
      epochs_run = epoch;
      if (eval.accuracy > best_eval.accuracy) {
        best_eval = eval;
        best_epoch = epoch;
        best = TakeSnapshot(net);
      }
      progress.epoch_done = true;
      progress.val_accuracy = eval.accuracy;
      progress.val_nll = eval.nll;
      if (o.on_progress) o.on_progress(progress);
      if (epoch - best_epoch >= o.patience) break;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    RestoreSnapshot(net, best);
    SetMemoryFormat(net, at::MemoryFormat::Contiguous);
    card.metrics = {
        {"val_accuracy", best_eval.accuracy},
        {"val_nll", best_eval.nll},
        {"best_epoch", best_epoch},
        {"epochs_run", epochs_run},
        {"train_seconds", seconds},
        {"train_images_per_second", double(step * o.batch_size) / seconds},
    };
    return internal::MakeNativeClassifier(std::move(card), std::move(net));
  }
}

}  // namespace

StatusOr<std::unique_ptr<Classifier>> TrainClassifier(const Dataset& train, const Dataset& val,
                                                      const InputSpec& spec,
                                                      const TrainOptions& o) {
  SEYE_RETURN_IF_ERROR(CheckInputs(train, val, spec, o));
  ConfigureCompute(o.threads);
  ModelCard card = MakeCard(train, val, spec, o);
  return internal::GuardTorch("training", [&]() -> StatusOr<std::unique_ptr<Classifier>> {
    torch::manual_seed(o.seed);
    SEYE_ASSIGN_OR_RETURN(SeyeCnn net, internal::BuildNetwork(card));
    return TrainNetwork(std::move(net), std::move(card), train, val, spec, o);
  });
}

StatusOr<std::unique_ptr<Classifier>> FineTuneClassifier(const Classifier& start,
                                                         const Dataset& train, const Dataset& val,
                                                         const TrainOptions& options) {
  const ModelCard& from = start.card();
  if (train.class_names != from.class_names)
    return InvalidArgumentError("fine-tuning keeps the model's classes; the data's differ");
  TrainOptions o = options;
  o.widths = from.hyperparameters.value("widths", o.widths);
  o.depths = from.hyperparameters.value("depths", o.depths);
  SEYE_RETURN_IF_ERROR(CheckInputs(train, val, from.input, o));
  ConfigureCompute(o.threads);
  ModelCard card = MakeCard(train, val, from.input, o);
  card.parent_id = from.Version();
  card.training_data["fine_tuned_from"] = from.Version();
  // The same camera images pass the same quality gate whichever weights judge them.
  card.quality_baseline = from.quality_baseline;
  return internal::GuardTorch("fine-tuning", [&]() -> StatusOr<std::unique_ptr<Classifier>> {
    torch::manual_seed(o.seed);
    SEYE_ASSIGN_OR_RETURN(SeyeCnn net, internal::CopyNetwork(start));
    return TrainNetwork(std::move(net), std::move(card), train, val, from.input, o);
  });
}

}  // namespace steadyeye
