#include "common.h"

#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "steadyeye/core/priority.h"
#include "steadyeye/core/progress.h"

namespace steadyeye::cli {

int Fail(const Status& status) {
  std::fprintf(stderr, "steadyeye: error: %s\n", status.message().c_str());
  return kExitFailure;
}

StatusOr<DataRef> ResolveDataRef(const std::string& text, DataPurpose purpose) {
  SEYE_ASSIGN_OR_RETURN(DataRef ref, ParseDataRef(text));
  if (ref.kind != DataRef::Kind::kFashionMnist) return ref;
  if (ref.split == Split::kDefault) {
    ref.split = purpose == DataPurpose::kTraining      ? Split::kTrain
                : purpose == DataPurpose::kCalibration ? Split::kCalibration
                                                       : Split::kTest;
    if (ref.split == Split::kTest) ref.lab = false;  // the pool is carved from train only
  }
  if (purpose == DataPurpose::kCalibration &&
      (ref.split == Split::kTest || ref.split == Split::kTrain)) {
    return InvalidArgumentError(
        ref.ToString() +
        (ref.split == Split::kTest ? " is for evaluation only" : " is what models are trained on") +
        "; calibrate on images held back from training: fashion-mnist:calib "
        "(or fashion-mnist:val), or a site's reviewed images");
  }
  if (purpose == DataPurpose::kTraining && ref.split == Split::kTest) {
    return InvalidArgumentError(
        "fashion-mnist:test is for evaluation only; train on fashion-mnist (its train split)");
  }
  if (purpose == DataPurpose::kTraining && ref.split == Split::kPool) {
    return InvalidArgumentError(
        "fashion-mnist:pool is the demo's production stream, never trained on; train on "
        "fashion-mnist-lab (the train split without it)");
  }
  if (purpose == DataPurpose::kCalibration && ref.split == Split::kPool) {
    return InvalidArgumentError(
        "fashion-mnist:pool is the demo's production stream; calibrate on fashion-mnist-lab:calib");
  }
  if (purpose == DataPurpose::kTraining && ref.split != Split::kTrain) {
    return InvalidArgumentError(ref.ToString() +
                                " is held back from training (validation and calibration); train "
                                "on fashion-mnist, which carves these parts out itself");
  }
  return ref;
}

StatusOr<Dataset> LoadWithProgress(const DataRef& ref, LoadOptions options) {
  std::unique_ptr<Progress> progress;
  if (ref.kind == DataRef::Kind::kFolder) {
    options.on_progress = [&](size_t done, size_t total) {
      if (!progress)
        progress = std::make_unique<Progress>("decoding " + ref.ToString(), int64_t(total), "img");
      progress->Update(int64_t(done));
    };
  }
  LoadReport report;
  auto data = LoadDataset(ref, options, &report);
  progress.reset();
  for (const auto& skipped : report.skipped) std::fprintf(stderr, "skipped %s\n", skipped.c_str());
  return data;
}

RetentionPolicy RetentionFromLimits(double max_age_days, double max_mb) {
  RetentionPolicy policy;
  if (max_age_days > 0) policy.max_age_ms = int64_t(max_age_days * 86400e3);
  if (max_mb > 0) policy.max_image_bytes = int64_t(max_mb * 1e6);
  return policy;
}

void AddRiskOptions(CLI::App& cmd, double& alpha, double& delta) {
  cmd.add_option("--alpha", alpha, "Target error rate among automatic decisions")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 0.5));
  cmd.add_option("--delta", delta, "Allowed probability that the certificate is wrong")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 0.5));
}

std::string DescribeCalibration(const Calibration& c) {
  const auto& t = c.threshold;
  std::string line =
      fmt::format("temperature {:.3f} (ECE {:.4f} -> {:.4f}, NLL {:.4f} -> {:.4f}); ",
                  c.temperature, c.ece_before, c.ece_after, c.nll_before, c.nll_after);
  if (!t.certified) {
    return line + fmt::format(
                      "no threshold certifies error <= {} at {:.0f}% on {} images: every decision "
                      "goes to review",
                      t.alpha, 100 * (1 - t.delta), t.n);
  }
  line += fmt::format(
      "automatic at confidence >= {:.3f}: coverage {:.4f}, error <= {} certified at {:.0f}% "
      "({} errors in {} accepted of {})",
      t.threshold, t.coverage, t.alpha, 100 * (1 - t.delta), t.errors, t.accepted, t.n);
  if (!c.shift) return line;
  if (!c.shift->certified) {
    return line + fmt::format(
                      "; under production conditions: none certified for {} (drift "
                      "suspends automatic decisions)",
                      c.shift->worst_condition);
  }
  return line + fmt::format("; under production conditions: >= {:.3f} (set by {})",
                            c.shift->threshold, c.shift->worst_condition);
}

void AddThreadsOption(CLI::App& cmd, int& threads) {
  cmd.add_option("--threads", threads, "Compute threads (0 = all cores)")
      ->check(CLI::Range(0, 1024));
}

void AddPriorityOption(CLI::App& cmd, std::string& priority) {
  priority = "idle";
  cmd.add_option("--priority", priority,
                 "CPU priority: idle (SCHED_IDLE: only cycles serving leaves) or normal")
      ->check(CLI::IsMember({"idle", "normal"}))
      ->capture_default_str();
}

void ApplyPriority(const std::string& priority) {
  if (priority != "idle") return;
  if (const Status s = RunAtIdleCpuPriority(); !s.ok()) {
    std::fprintf(stderr, "steadyeye: warning: running at normal CPU priority: %s\n",
                 s.message().c_str());
    return;
  }
  std::fprintf(stderr,
               "steadyeye: at idle CPU priority (SCHED_IDLE; --priority normal to "
               "compete with serving)\n");
}

}  // namespace steadyeye::cli
