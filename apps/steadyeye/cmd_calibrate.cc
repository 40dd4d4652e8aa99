#include <fmt/format.h>

#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/calibrate.h"

namespace steadyeye::cli {

namespace {

struct CalibrateArgs {
  std::string model;
  std::string out;
  std::string data = "fashion-mnist:calib";
  size_t limit = 0;
  double alpha = kDefaultAlpha;
  double delta = kDefaultDelta;
  int audit = 0;
  size_t audit_size = 0;
  uint64_t audit_seed = 1;
  bool json = false;
  int threads = 0;
};

int RunCalibrate(const CalibrateArgs& args) {
  ConfigureCompute(args.threads);
  auto model = Classifier::Load(args.model);
  if (!model.ok()) return Fail(model.status());
  auto ref = ResolveDataRef(args.data, DataPurpose::kCalibration);
  if (!ref.ok()) return Fail(ref.status());
  auto data = LoadForModel(*ref, **model, args.limit);
  if (!data.ok()) return Fail(data.status());
  Progress progress("calibrating", int64_t(data->size()), "img");
  CalibrateOptions options{args.alpha, args.delta, ref->ToString(),
                           [&](size_t done, size_t) { progress.Update(int64_t(done)); }};
  std::vector<float> logits;
  auto calibration = CalibrateForProduction(**model, *data, options, 0, &logits);
  progress.Finish();
  if (!calibration.ok()) return Fail(calibration.status());
  nlohmann::json out{{"model_id", (*model)->card().id}, {"calibration", calibration->ToJson()}};
  if (args.audit > 0) {
    auto audit = AuditCertificate(logits, data->labels, (*model)->num_classes(), args.alpha,
                                  args.delta, args.audit, args.audit_size, args.audit_seed);
    if (!audit.ok()) return Fail(audit.status());
    out["audit"] = audit->ToJson();
    if (!args.json) {
      std::printf(
          "audit over %d random divisions (calibrate on %zu images, check on %zu): certified in "
          "%d, "
          "error above %.4g in %d (allowed about %.0f), mean coverage %.4f, mean error %.4f, max "
          "%.4f\n",
          audit->draws, audit->calibration_size, audit->check_size, audit->certified, args.alpha,
          audit->violations, args.delta * audit->draws, audit->mean_coverage, audit->mean_error,
          audit->max_error);
    }
  }
  const std::string path = args.out.empty() ? args.model : args.out;
  if (Status st = (*model)->Save(path); !st.ok()) return Fail(st);
  if (args.json) {
    out["saved"] = path;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("calibrated on %zu images of %s: %s\nsaved %s\n", data->size(),
                ref->ToString().c_str(), DescribeCalibration(*calibration).c_str(), path.c_str());
  }
  return 0;
}

}  // namespace

void AddCalibrateCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CalibrateArgs>();
  auto* cmd = app.add_subcommand(
      "calibrate",
      "Fit a model's temperature and certify its automatic-decision threshold on labelled images "
      "it was not trained on (training does this on its calibration part already)");
  cmd->add_option("--model", args->model, "Model bundle (.seye)")->required();
  cmd->add_option("--data", args->data,
                  "fashion-mnist:calib|:val or an image folder (one sub-folder per class), e.g. a "
                  "site's reviewed images")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Write the calibrated model here (default: replace --model)");
  cmd->add_option("--limit", args->limit,
                  "Use at most this many images, spread over classes (0 = all)");
  AddRiskOptions(*cmd, args->alpha, args->delta);
  cmd->add_option(
         "--audit", args->audit,
         "Also audit the certificate: this many random calibrate/check divisions of the data")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--audit-size", args->audit_size,
                  "Audit: calibration images per division, the rest checks (0 = half)");
  cmd->add_option("--audit-seed", args->audit_seed)->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  AddThreadsOption(*cmd, args->threads);
  cmd->callback([args, &exit_code] { exit_code = RunCalibrate(*args); });
}

}  // namespace steadyeye::cli
