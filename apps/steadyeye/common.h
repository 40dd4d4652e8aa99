// Shared helpers of the steadyeye CLI. The CLI is a thin layer: parsing flags, calling the
// library, printing results. Exit codes: 0 success, 1 failure (error printed to stderr),
// 2 usage error.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <string>

#include "steadyeye/core/status.h"
#include "steadyeye/data/source.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/classifier.h"
#include "steadyeye/model/train.h"
#include "steadyeye/server/replay.h"
#include "steadyeye/store/capture_store.h"

namespace steadyeye::cli {

inline constexpr int kExitFailure = 1;

// Prints "steadyeye: error: <message>" and returns kExitFailure.
int Fail(const Status& status);

// What the data is for decides how "fashion-mnist" without a split is read, and whether the
// test split is allowed (it is for evaluation only).
enum class DataPurpose { kTraining, kEvaluation, kCalibration };
StatusOr<DataRef> ResolveDataRef(const std::string& text, DataPurpose purpose);

// Loads data, showing progress while image folders are decoded and listing skipped files.
StatusOr<Dataset> LoadWithProgress(const DataRef& ref, LoadOptions options);

// Loads data for a model (conformed to its input, classes matched by name). In
// common_model.cc: it is the one shared helper that needs the model module.
StatusOr<Dataset> LoadForModel(const DataRef& ref, const Classifier& model, size_t limit);

struct TrainArgs {
  std::string data = "fashion-mnist";
  std::string out;
  std::string input;
  size_t limit = 0;
  TrainOptions options;
  bool no_augment = false;
  double alpha = kDefaultAlpha;
  double delta = kDefaultDelta;
};
int RunTrain(TrainArgs& args);

// A progress bar per training epoch (with the whole run's ETA), for TrainOptions::on_progress.
std::function<void(const TrainProgress&)> TrainingProgressBar();

struct EvalArgs {
  std::string model;
  std::string data = "fashion-mnist:test";
  size_t limit = 0;
  int threads = 0;
  bool json = false;
  std::string conditions;  // empty: clean only
  uint64_t condition_seed = kDefaultConditionSeed;
};
int RunEval(const EvalArgs& args);

// Clean and (when `selector` is not empty) per-condition evaluation, with a progress bar.
StatusOr<RobustnessResult> EvaluateWithProgress(const Classifier& model, const Dataset& data,
                                                const std::string& selector, uint64_t seed);

// Adds the shared --threads flag.
void AddThreadsOption(CLI::App& cmd, int& threads);

// Adds --priority idle|normal to a command that does background work beside a server
// (core/priority.h); `priority` holds its default, "idle".
void AddPriorityOption(CLI::App& cmd, std::string& priority);

// Applies --priority. A refusal is a warning on stderr, not a failure: the work still runs, at
// normal priority.
void ApplyPriority(const std::string& priority);

// Each subcommand registers itself and its callback on `app`; the callback stores its exit code.
void AddTrainCommand(CLI::App& app, int& exit_code);
void AddEvalCommand(CLI::App& app, int& exit_code);
void AddPredictCommand(CLI::App& app, int& exit_code);
void AddExportImagesCommand(CLI::App& app, int& exit_code);
void AddModelCardCommand(CLI::App& app, int& exit_code);
void AddImportTorchScriptCommand(CLI::App& app, int& exit_code);
void AddDemoCommand(CLI::App& app, int& exit_code);
void AddShiftCommand(CLI::App& app, int& exit_code);
void AddQualityCommand(CLI::App& app, int& exit_code);
void AddReportCommand(CLI::App& app, int& exit_code);
void AddCalibrateCommand(CLI::App& app, int& exit_code);
void AddServeCommand(CLI::App& app, int& exit_code);
void AddCapturesCommand(CLI::App& app, int& exit_code);
void AddTokenCommand(CLI::App& app, int& exit_code);
void AddModelsCommand(CLI::App& app, int& exit_code);
void AddAdaptCommand(CLI::App& app, int& exit_code);
void AddRetrainCommand(CLI::App& app, int& exit_code);
void AddLoopCommand(CLI::App& app, int& exit_code);
void AddReplayCommand(CLI::App& app, int& exit_code);
// The `models` subcommands that load models, added to the models command by steadyeye-full:
// register (cmd_models_register.cc) and gate (cmd_gate.cc).
void AddModelsRegisterSubcommand(CLI::App& models, int& exit_code);
void AddGateSubcommand(CLI::App& models, int& exit_code);

// Images to replay: an image folder or a dataset, shuffled with `seed`, at most `limit` (0: all),
// `condition` (if not empty) at `severity` from the `from`-th image on. Fills `class_names`.
StatusOr<std::vector<ReplayImage>> PrepareReplayImages(const std::string& images, uint64_t seed,
                                                       size_t limit, const std::string& condition,
                                                       int severity, size_t from,
                                                       std::vector<std::string>& class_names);
// The production report of a store (report production).
// <dir>/<page_name> from the template web/report/<kind>.html with `report` embedded,
// <dir>/<json_name> beside it, and the chart library and style sheet the page loads.
Status WriteHtmlReport(const std::filesystem::path& dir, const std::string& kind,
                       const nlohmann::json& report, const std::string& page_name,
                       const std::string& json_name);
Status WriteProductionReport(const std::string& store_dir, const std::string& out,
                             const std::optional<std::string>& site, std::optional<int64_t> from,
                             std::optional<int64_t> to);

// A retention policy from --max-age-days / --max-mb style limits (0 = no limit).
RetentionPolicy RetentionFromLimits(double max_age_days, double max_mb);

// Adds --alpha and --delta (the certified threshold's target error and allowed failure rate).
void AddRiskOptions(CLI::App& cmd, double& alpha, double& delta);

// One line about a fitted calibration: temperature, ECE before/after, the certified threshold.
std::string DescribeCalibration(const Calibration& c);

// A file of the web assets (pages, templates, npm packages): under $STEADYEYE_WEB_DIR if set,
// else the source tree's web/ folder. NotFound naming the fix when missing.
StatusOr<std::filesystem::path> WebFile(const std::string& relative);

}  // namespace steadyeye::cli
