#include <fmt/format.h>

#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/eval/metrics.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/predict.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye::cli {

namespace {

void PrintAutomatic(const ClassificationMetrics& m, const ModelCard& card) {
  if (!card.calibration) {
    std::printf("not calibrated: every decision goes to review (steadyeye calibrate)\n");
    return;
  }
  const auto& t = card.calibration->threshold;
  if (!t.certified) {
    std::printf("no certified threshold at alpha %.4g: every decision goes to review\n", t.alpha);
    return;
  }
  std::printf(
      "automatic decisions (confidence >= %.3f, certified error <= %.4g at %.0f%%): coverage %.4f, "
      "error among them %.4f (%zu of %zu)\n",
      t.threshold, t.alpha, 100 * (1 - t.delta), m.automatic->coverage, m.automatic->error,
      m.automatic->errors, m.automatic->decided);
}

void PrintTable(const ClassificationMetrics& m, const ModelCard& card, const std::string& data) {
  std::printf("model %s on %s: %zu images\n", card.id.c_str(), data.c_str(), m.n);
  std::printf("accuracy %.4f   nll %.4f   ece %.4f\n", m.accuracy, m.nll, m.ece);
  PrintAutomatic(m, card);
  std::printf("\n");
  std::printf("%-16s %8s %6s\n", "class", "accuracy", "n");
  for (size_t c = 0; c < card.class_names.size(); ++c) {
    std::printf("%-16s %8.4f %6zu\n", card.class_names[c].c_str(), m.per_class_accuracy[c],
                m.per_class_n[c]);
  }
  std::printf("\nconfusion (rows: true class, columns: predicted)\n");
  for (size_t r = 0; r < m.confusion.size(); ++r) {
    std::printf("%-16s", card.class_names[r].c_str());
    for (size_t v : m.confusion[r]) std::printf(" %5zu", v);
    std::printf("\n");
  }
}

// Conditions as rows, severities as columns, accuracy in each cell.
void PrintConditionTable(const RobustnessResult& r) {
  std::printf("\naccuracy under production conditions (condition seed %llu)\n%-16s",
              (unsigned long long)r.seed, "condition");
  for (int s = kMinSeverity; s <= kMaxSeverity; ++s) std::printf("  sev %d", s);
  std::printf("    mean\n");
  for (size_t i = 0; i < r.cells.size(); i += kMaxSeverity) {
    const auto& first = r.cells[i];
    std::printf("%-16s", (first.condition + (first.held_out ? "*" : "")).c_str());
    double sum = 0;
    for (int s = 0; s < kMaxSeverity; ++s) {
      sum += r.cells[i + s].metrics.accuracy;
      std::printf(" %6.4f", r.cells[i + s].metrics.accuracy);
    }
    std::printf("  %6.4f\n", sum / kMaxSeverity);
  }
  if (r.mean_anticipated_accuracy)
    std::printf("mean anticipated accuracy %.4f\n", *r.mean_anticipated_accuracy);
  if (r.mean_heldout_accuracy)
    std::printf("mean held-out accuracy    %.4f (* held out: never trained on)\n",
                *r.mean_heldout_accuracy);
  std::printf("relative drop             %.4f\n", r.relative_drop);
  if (r.cells.empty() || !r.cells[0].metrics.automatic) return;
  std::printf("\nautomatic decisions per condition: coverage / error among them\n%-16s",
              "condition");
  for (int s = kMinSeverity; s <= kMaxSeverity; ++s) std::printf("         sev %d", s);
  std::printf("\n");
  for (size_t i = 0; i < r.cells.size(); i += kMaxSeverity) {
    std::printf("%-16s", r.cells[i].condition.c_str());
    for (int s = 0; s < kMaxSeverity; ++s) {
      const auto& a = *r.cells[i + s].metrics.automatic;
      std::printf("  %5.3f/%6.4f", a.coverage, a.error);
    }
    std::printf("\n");
  }
}

}  // namespace

StatusOr<RobustnessResult> EvaluateWithProgress(const Classifier& model, const Dataset& data,
                                                const std::string& selector, uint64_t seed) {
  std::vector<std::string> conditions;
  if (!selector.empty()) {
    SEYE_ASSIGN_OR_RETURN(conditions, SelectConditions(selector));
  }
  Progress progress("evaluating", int64_t(data.size() * (1 + conditions.size() * kMaxSeverity)),
                    "img");
  auto result = EvaluateRobustness(model, data, conditions, seed,
                                   [&](size_t done, size_t) { progress.Update(int64_t(done)); });
  progress.Finish();
  return result;
}

int RunEval(const EvalArgs& args) {
  ConfigureCompute(args.threads);
  auto model = Classifier::Load(args.model);
  if (!model.ok()) return Fail(model.status());
  auto ref = ResolveDataRef(args.data, DataPurpose::kEvaluation);
  if (!ref.ok()) return Fail(ref.status());
  auto data = LoadForModel(*ref, **model, args.limit);
  if (!data.ok()) return Fail(data.status());
  auto result = EvaluateWithProgress(**model, *data, args.conditions, args.condition_seed);
  if (!result.ok()) return Fail(result.status());
  const auto& metrics = result->clean;
  if (args.json) {
    auto out = MetricsToJson(metrics, (*model)->card().class_names);
    out["model_id"] = (*model)->card().id;
    out["data"] = ref->ToString();
    if (!args.conditions.empty()) out.update(RobustnessToJson(*result));
    std::printf("%s\n", out.dump().c_str());
  } else {
    PrintTable(metrics, (*model)->card(), ref->ToString());
    if (!args.conditions.empty()) PrintConditionTable(*result);
  }
  return 0;
}

void AddEvalCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a model on labelled data");
  cmd->add_option("--model", args->model, "Model bundle (.seye)")->required();
  cmd->add_option("--data", args->data, "fashion-mnist[:test|:train] or an image folder")
      ->capture_default_str();
  cmd->add_option("--limit", args->limit,
                  "Evaluate at most this many images, spread over classes (0 = all)");
  cmd->add_option("--conditions", args->conditions,
                  "Also evaluate under production conditions x severities 1..5: all, anticipated, "
                  "heldout, or names (comma-separated; see steadyeye shift --list)");
  cmd->add_option("--condition-seed", args->condition_seed,
                  "Seed of the corrupted images (the same seed gives every model the same images)")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object");
  AddThreadsOption(*cmd, args->threads);
  cmd->callback([args, &exit_code] { exit_code = RunEval(*args); });
}

}  // namespace steadyeye::cli
