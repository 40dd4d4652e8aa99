#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/quality/quality.h"

namespace steadyeye::cli {

namespace fs = std::filesystem;

namespace {

struct QualityArgs {
  std::string baseline;
  bool json = false;
  std::vector<std::string> files;
};

struct BaselineArgs {
  std::string images;
  std::string out;
  size_t limit = 0;
  BaselineOptions options;
};

// Reference images from a folder (recursively) or a Fashion-MNIST split.
StatusOr<std::vector<Image>> LoadReferenceImages(const BaselineArgs& args) {
  std::vector<Image> images;
  if (args.images.starts_with("fashion-mnist")) {
    SEYE_ASSIGN_OR_RETURN(DataRef ref, ResolveDataRef(args.images, DataPurpose::kTraining));
    LoadOptions options;
    options.limit = args.limit;
    SEYE_ASSIGN_OR_RETURN(Dataset data, LoadWithProgress(ref, options));
    for (size_t i = 0; i < data.size(); ++i) images.push_back(data.image(i));
    return images;
  }
  if (!fs::is_directory(args.images)) {
    return NotFoundError("--images " + args.images +
                         " is neither a folder nor fashion-mnist[:train|:val|:calib]");
  }
  auto files = ListImageFiles(args.images);
  if (args.limit > 0 && files.size() > args.limit) files.resize(args.limit);
  Progress progress("decoding " + args.images, int64_t(files.size()), "img");
  for (size_t i = 0; i < files.size(); ++i) {
    auto image = LoadImageFile(files[i]);
    if (image.ok()) {
      images.push_back(std::move(*image));
    } else {
      std::fprintf(stderr, "skipped %s\n", image.status().message().c_str());
    }
    progress.Update(int64_t(i + 1));
  }
  return images;
}

int RunBaseline(const BaselineArgs& args) {
  auto images = LoadReferenceImages(args);
  if (!images.ok()) return Fail(images.status());
  auto baseline = BuildBaseline(*images, args.options);
  if (!baseline.ok()) return Fail(baseline.status());
  if (Status st = SaveBaseline(*baseline, args.out); !st.ok()) return Fail(st);
  std::printf("wrote %s: quality baseline of %zu reference images\n", args.out.c_str(),
              baseline->n);
  return 0;
}

void PrintAssessment(const std::string& file, const QualityAssessment& a) {
  std::printf("%s: %s\n", file.c_str(),
              !a.judged  ? "metrics only (no --baseline)"
              : a.pass() ? "pass"
                         : "FLAG");
  for (const auto& f : a.flags) std::printf("  %s\n", f.cause.c_str());
  std::string line;
  for (size_t m = 0; m < kNumQualityMetrics; ++m) {
    line +=
        fmt::format("{}{}={:.4g}", m ? " " : "", MetricInfo(QualityMetric(m)).name, a.values[m]);
  }
  std::printf("  %s\n", line.c_str());
}

int RunQuality(const QualityArgs& args) {
  if (args.files.empty())
    return Fail(InvalidArgumentError("give image files to check (or: quality baseline ...)"));
  std::optional<QualityBaseline> baseline;
  if (!args.baseline.empty()) {
    auto loaded = LoadBaseline(args.baseline);
    if (!loaded.ok()) return Fail(loaded.status());
    baseline = std::move(*loaded);
  }
  int failures = 0;
  for (const auto& file : args.files) {
    auto image = LoadImageFile(file);
    auto assessment = image.ok() ? AssessQuality(*image, baseline ? &*baseline : nullptr)
                                 : StatusOr<QualityAssessment>(image.status());
    if (!assessment.ok()) {
      ++failures;
      if (args.json) {
        std::printf("%s\n",
                    nlohmann::json({{"file", file}, {"error", assessment.status().message()}})
                        .dump()
                        .c_str());
      } else {
        std::fprintf(stderr, "%s: error: %s\n", file.c_str(),
                     assessment.status().message().c_str());
      }
      continue;
    }
    if (args.json) {
      auto out = assessment->ToJson();
      out["file"] = file;
      std::printf("%s\n", out.dump().c_str());
    } else {
      PrintAssessment(file, *assessment);
    }
  }
  return failures == 0 ? 0 : kExitFailure;
}

}  // namespace

void AddQualityCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<QualityArgs>();
  auto* cmd = app.add_subcommand(
      "quality",
      "Measure image quality; with a site baseline, flag bad frames with the likely cause");
  cmd->add_option("--baseline", args->baseline, "Site baseline (from: steadyeye quality baseline)");
  cmd->add_flag("--json", args->json, "One JSON object per file");
  cmd->add_option("files", args->files, "Image files");
  cmd->callback([args, cmd, &exit_code] {
    if (cmd->get_subcommands().empty()) exit_code = RunQuality(*args);
  });

  auto bargs = std::make_shared<BaselineArgs>();
  auto* base =
      cmd->add_subcommand("baseline", "Learn a site's quality baseline from reference images");
  base->add_option("--images", bargs->images,
                   "Folder of reference images, or fashion-mnist[:train|:val|:calib]")
      ->required();
  base->add_option("--out", bargs->out, "Where to write the baseline (JSON)")->required();
  base->add_option("--limit", bargs->limit, "Use at most this many images (0 = all)");
  base->add_option("--tail", bargs->options.tail,
                   "Share of reference images allowed beyond each limit")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 0.49));
  base->add_option("--margin", bargs->options.margin,
                   "How far limits reach past that quantile (x its distance from the median)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  base->callback([bargs, &exit_code] { exit_code = RunBaseline(*bargs); });
}

}  // namespace steadyeye::cli
