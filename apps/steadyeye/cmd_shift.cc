#include <algorithm>
#include <filesystem>
#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye::cli {

namespace fs = std::filesystem;

namespace {

struct ShiftArgs {
  bool list = false;
  std::string condition;
  int severity = 3;
  uint64_t seed = 1;
  std::string in, out;
};

int ListConditions() {
  for (const auto& c : AllConditions()) {
    std::printf("%-15s %-21s %-9s %s\n", c.name.c_str(), ConditionGroupName(c.group),
                c.held_out ? "held-out" : "", c.description.c_str());
  }
  return 0;
}

Status ShiftFile(const fs::path& in, const fs::path& out, const ShiftArgs& args, uint64_t seed) {
  SEYE_ASSIGN_OR_RETURN(Image image, LoadImageFile(in));
  SEYE_ASSIGN_OR_RETURN(Image shifted, ApplyCondition(image, args.condition, args.severity, seed));
  return SaveImageFile(out, shifted);
}

int RunShift(const ShiftArgs& args) {
  if (args.list) return ListConditions();
  if (args.condition.empty() || args.in.empty() || args.out.empty()) {
    return Fail(InvalidArgumentError("need --condition NAME, IN and OUT (or --list)"));
  }
  if (auto c = FindCondition(args.condition); !c.ok()) return Fail(c.status());
  if (!fs::is_directory(args.in)) {
    const Status st = ShiftFile(args.in, args.out, args, args.seed);
    return st.ok() ? 0 : Fail(st);
  }
  std::vector<fs::path> files;
  for (const auto& path : ListImageFiles(args.in)) files.push_back(fs::relative(path, args.in));
  Progress progress(args.condition + " severity " + std::to_string(args.severity),
                    int64_t(files.size()), "img");
  int failures = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    // Each file's randomness comes from the seed and its place in sorted order: reproducible.
    const Status st =
        ShiftFile(fs::path(args.in) / files[i], fs::path(args.out) / files[i], args, args.seed + i);
    if (!st.ok()) {
      std::fprintf(stderr, "%s: error: %s\n", files[i].c_str(), st.message().c_str());
      ++failures;
    }
    progress.Update(int64_t(i + 1));
  }
  progress.Finish();
  std::printf("wrote %zu images to %s (%d failed)\n", files.size() - failures, args.out.c_str(),
              failures);
  return failures == 0 ? 0 : kExitFailure;
}

}  // namespace

void AddShiftCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ShiftArgs>();
  auto* cmd = app.add_subcommand(
      "shift",
      "Apply a production condition (lighting, blur, dust, JPEG, ...) to an image or folder");
  cmd->add_flag("--list", args->list, "List the conditions");
  cmd->add_option("--condition", args->condition, "Condition name (see --list)");
  cmd->add_option("--severity", args->severity, "1 (barely visible) .. 5 (still recognisable)")
      ->capture_default_str()
      ->check(CLI::Range(kMinSeverity, kMaxSeverity));
  cmd->add_option("--seed", args->seed, "Random seed")->capture_default_str();
  cmd->add_option("in", args->in, "Input image file or folder");
  cmd->add_option("out", args->out, "Output file or folder (format from the extension)");
  cmd->callback([args, &exit_code] { exit_code = RunShift(*args); });
}

}  // namespace steadyeye::cli
