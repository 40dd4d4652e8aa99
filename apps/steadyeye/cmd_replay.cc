#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>

#include "common.h"
#include "steadyeye/core/file.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/core/time.h"
#include "steadyeye/data/source.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/server/replay.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye::cli {

namespace {

namespace fs = std::filesystem;

// The client's options are bound to the flags directly; the rest say which images to send.
struct ReplayArgs {
  ReplayOptions options;
  std::string images;
  size_t limit = 0;
  std::string condition;
  int severity = 3;
  size_t from = 0;
  std::string ts_start;
  double ts_step_s = 1;
  bool json = false;
};

// An image folder's files as they are (one sub-folder per class), or a dataset's images as PNG.
StatusOr<std::vector<ReplayImage>> LoadImages(const std::string& text,
                                              std::vector<std::string>& class_names) {
  SEYE_ASSIGN_OR_RETURN(const DataRef ref, ResolveDataRef(text, DataPurpose::kEvaluation));
  std::vector<ReplayImage> out;
  if (ref.kind == DataRef::Kind::kFolder) {
    std::vector<fs::path> classes;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(ref.folder, ec))
      if (e.is_directory()) classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    for (const auto& dir : classes) {
      class_names.push_back(dir.filename().string());
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        SEYE_ASSIGN_OR_RETURN(auto bytes, ReadFileBytes(f));
        out.push_back({std::move(bytes), class_names.back()});
      }
    }
    if (out.empty())
      return InvalidArgumentError(text + " has no class sub-folders with PNG or JPEG images");
    return out;
  }
  SEYE_ASSIGN_OR_RETURN(const Dataset data, LoadWithProgress(ref, LoadOptions{}));
  class_names = data.class_names;
  for (size_t i = 0; i < data.size(); ++i) {
    SEYE_ASSIGN_OR_RETURN(auto png, EncodePng(data.image(i)));
    out.push_back({std::move(png), data.class_names[size_t(data.labels[i])]});
  }
  return out;
}

}  // namespace

StatusOr<std::vector<ReplayImage>> PrepareReplayImages(const std::string& images, uint64_t seed,
                                                       size_t limit, const std::string& condition,
                                                       int severity, size_t from,
                                                       std::vector<std::string>& class_names) {
  SEYE_ASSIGN_OR_RETURN(std::vector<ReplayImage> out, LoadImages(images, class_names));
  // A line's order: seeded, classes interleaved.
  std::shuffle(out.begin(), out.end(), std::mt19937_64(seed));
  if (limit > 0 && out.size() > limit) out.resize(limit);
  // The condition from the `from`-th image on, each image with its own seed.
  for (size_t i = from; !condition.empty() && i < out.size(); ++i) {
    SEYE_ASSIGN_OR_RETURN(const Image image, DecodeImage(out[i].bytes));
    SEYE_ASSIGN_OR_RETURN(const Image shifted,
                          ApplyCondition(image, condition, severity, seed + i));
    SEYE_ASSIGN_OR_RETURN(out[i].bytes, EncodePng(shifted));
  }
  return out;
}

namespace {

// What the site's alerts say about this replay: with a condition, the first alert raised at or
// after the image where it began (its delay in images), and any raised before it (false
// alarms); without one, every alert is a false alarm. Frames are counted by the server per
// stream, so this holds for a site and camera that this replay alone fed.
nlohmann::json DriftOutcome(const ReplaySummary& summary, const ReplayArgs& args) {
  if (!summary.alerts.is_array()) return nullptr;
  const bool shifted = !args.condition.empty();
  int false_alarms = 0;
  nlohmann::json first;
  for (const auto& alert : summary.alerts) {
    if (alert.value("camera", "") != args.options.camera) continue;
    const int64_t frame = alert.value("detected_frame", int64_t(0));
    if (!shifted || frame < int64_t(args.from)) {
      ++false_alarms;
    } else if (first.is_null() || frame < first["detected_frame"].get<int64_t>()) {
      first = alert;
    }
  }
  nlohmann::json out = {{"false_alarms", false_alarms}};
  if (!first.is_null()) {
    out["alert"] = first["id"];
    out["reason"] = first["reason"];
    out["detected_after"] = first["detected_frame"].get<int64_t>() - int64_t(args.from);
  } else if (shifted) {
    out["missed"] = true;
  }
  return out;
}

int RunReplay(const ReplayArgs& args) {
  std::vector<std::string> class_names;
  auto images = PrepareReplayImages(args.images, args.options.seed, args.limit, args.condition,
                                    args.severity, args.from, class_names);
  if (!images.ok()) return Fail(images.status());
  ReplayOptions o = args.options;
  o.class_names = class_names;
  if (!args.ts_start.empty()) {
    auto start = ParseTimestamp(args.ts_start);
    if (!start.ok()) return Fail(start.status().WithContext("--ts-start"));
    o.ts_start_ms = *start;
    o.ts_step_ms = int64_t(args.ts_step_s * 1000);
  }
  std::mutex mu;
  Progress progress("replaying to " + args.options.site, int64_t(images->size()), "img");
  auto summary = Replay(*images, o, [&](size_t done, size_t) {
    std::lock_guard lock(mu);
    progress.Update(int64_t(done));
  });
  progress.Finish();
  if (!summary.ok()) return Fail(summary.status());
  const nlohmann::json drift = DriftOutcome(*summary, args);
  if (args.json) {
    auto j = summary->ToJson();
    j["site"] = args.options.site;
    j["drift"] = drift;
    j["condition"] =
        args.condition.empty()
            ? nlohmann::json()
            : nlohmann::json(
                  {{"name", args.condition}, {"severity", args.severity}, {"from", args.from}});
    std::printf("%s\n", j.dump(1).c_str());
  } else {
    const auto acc = summary->auto_accuracy();
    std::printf(
        "sent %lld images to %s in %.1f s (%lld answered, %lld failed): %lld automatic, %lld to "
        "review; errors among automatic decisions %lld (true accuracy %s); kept %lld review, %lld "
        "quality, %lld audit\n",
        static_cast<long long>(summary->sent), args.options.site.c_str(), summary->seconds,
        static_cast<long long>(summary->answered), static_cast<long long>(summary->failed),
        static_cast<long long>(summary->auto_decisions),
        static_cast<long long>(summary->review_decisions),
        static_cast<long long>(summary->auto_decisions - summary->auto_correct),
        acc ? fmt::format("{:.4f}", *acc).c_str() : "n/a",
        static_cast<long long>(summary->kept_review), static_cast<long long>(summary->kept_quality),
        static_cast<long long>(summary->kept_audit));
    if (drift.contains("detected_after")) {
      std::printf("drift: alert %lld (%s) %lld images after the condition began\n",
                  static_cast<long long>(drift["alert"].get<int64_t>()),
                  drift["reason"].get<std::string>().c_str(),
                  static_cast<long long>(drift["detected_after"].get<int64_t>()));
    } else if (!args.condition.empty() && drift.contains("missed")) {
      std::printf("drift: not detected\n");
    }
    if (drift.is_object() && drift.value("false_alarms", 0) > 0)
      std::printf("drift: %d alerts before any change (false alarms)\n",
                  drift["false_alarms"].get<int>());
    if (!summary->alerts_error.empty()) std::printf("drift: %s\n", summary->alerts_error.c_str());
    if (args.options.oracle_reviewer) {
      std::printf("oracle reviewer: %lld answers (%lld wrong on purpose), %lld skipped\n",
                  static_cast<long long>(summary->reviews_answered),
                  static_cast<long long>(summary->reviews_wrong),
                  static_cast<long long>(summary->reviews_skipped));
    }
  }
  for (const auto& e : summary->errors) std::fprintf(stderr, "failed: %s\n", e.c_str());
  return summary->failed > 0 ? 1 : 0;
}

}  // namespace

void AddReplayCommand(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ReplayArgs>();
  auto* cmd = app.add_subcommand(
      "replay", "Stream labelled images to a running server as a production line would");
  cmd->add_option("--server", a->options.server, "Server URL, e.g. http://127.0.0.1:8080")
      ->required();
  cmd->add_option("--token", a->options.token, "Client token (empty: the server is open)");
  cmd->add_option("--images", a->images,
                  "Image folder (one sub-folder per class) or fashion-mnist[:split]")
      ->required();
  cmd->add_option("--site", a->options.site, "Site the images come from")->required();
  cmd->add_option("--camera", a->options.camera, "Camera name")->capture_default_str();
  cmd->add_option("--rate", a->options.rate, "Images per second (0: as fast as answers come)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--limit", a->limit, "Send at most this many (0: all)");
  cmd->add_option("--seed", a->options.seed, "Seed of the order, the condition and the oracle")
      ->capture_default_str();
  cmd->add_option("--condition", a->condition, "Switch on this production condition");
  cmd->add_option("--severity", a->severity, "Its severity")
      ->capture_default_str()
      ->check(CLI::Range(1, 5));
  cmd->add_option("--from", a->from, "From the N-th image on (0: all)")->capture_default_str();
  cmd->add_option("--concurrency", a->options.concurrency, "Requests in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--ts-start", a->ts_start,
                  "Stamp the images as taken from this time on (ISO 8601), --ts-step apart");
  cmd->add_option("--ts-step", a->ts_step_s, "Seconds between stamped images")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e7));
  cmd->add_flag("--oracle-reviewer", a->options.oracle_reviewer,
                "Also answer the review tasks of these images with their true labels");
  cmd->add_option("--reviewer-token", a->options.reviewer_token,
                  "Reviewer token of the oracle (default: --token)");
  cmd->add_option("--error-rate", a->options.oracle_error_rate,
                  "Share of the oracle's answers made wrong")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--capacity", a->options.oracle_capacity,
                  "The oracle's answers per hour (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--operator-token", a->options.operator_token,
                  "Operator token that reads the site's drift alerts at the end (default: "
                  "--token)");
  cmd->add_option("--window", a->options.window,
                  "Images per window of the per-window figures in --json")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000'000));
  cmd->add_flag("--json", a->json, "Print the summary as JSON");
  cmd->callback([a, &exit_code] { exit_code = RunReplay(*a); });
}

}  // namespace steadyeye::cli
