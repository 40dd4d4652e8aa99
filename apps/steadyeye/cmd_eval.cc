#include <fmt/format.h>

#include <memory>

#include "common.h"
#include "steadyeye/core/progress.h"
#include "steadyeye/eval/metrics.h"
#include "steadyeye/model/predict.h"

namespace steadyeye::cli {

namespace {

void PrintTable(const ClassificationMetrics& m, const ModelCard& card, const std::string& data) {
  std::printf("model %s on %s: %zu images\n", card.id.c_str(), data.c_str(), m.n);
  std::printf("accuracy %.4f   nll %.4f   ece %.4f\n\n", m.accuracy, m.nll, m.ece);
  std::printf("%-16s %8s %6s\n", "class", "accuracy", "n");
  for (size_t c = 0; c < card.class_names.size(); ++c) {
    std::printf("%-16s %8.4f %6zu\n", card.class_names[c].c_str(), m.per_class_accuracy[c], m.per_class_n[c]);
  }
  std::printf("\nconfusion (rows: true class, columns: predicted)\n");
  for (size_t r = 0; r < m.confusion.size(); ++r) {
    std::printf("%-16s", card.class_names[r].c_str());
    for (size_t v : m.confusion[r]) std::printf(" %5zu", v);
    std::printf("\n");
  }
}

}  // namespace

int RunEval(const EvalArgs& args) {
  ConfigureCompute(args.threads);
  auto model = Classifier::Load(args.model);
  if (!model.ok()) return Fail(model.status());
  auto ref = ResolveDataRef(args.data, DataPurpose::kEvaluation);
  if (!ref.ok()) return Fail(ref.status());
  auto data = LoadForModel(*ref, **model, args.limit);
  if (!data.ok()) return Fail(data.status());
  Progress progress("evaluating", int64_t(data->size()), "img");
  auto probs = PredictDataset(**model, *data, 256,
                              [&](size_t done, size_t) { progress.Update(int64_t(done)); });
  progress.Finish();
  if (!probs.ok()) return Fail(probs.status());
  const auto metrics = ComputeMetrics(*probs, data->labels, (*model)->num_classes());
  if (args.json) {
    auto out = MetricsToJson(metrics, (*model)->card().class_names);
    out["model_id"] = (*model)->card().id;
    out["data"] = ref->ToString();
    std::printf("%s\n", out.dump().c_str());
  } else {
    PrintTable(metrics, (*model)->card(), ref->ToString());
  }
  return 0;
}

void AddEvalCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a model on labelled data");
  cmd->add_option("--model", args->model, "Model bundle (.seye)")->required();
  cmd->add_option("--data", args->data, "fashion-mnist[:test|:train] or an image folder")->capture_default_str();
  cmd->add_option("--limit", args->limit, "Evaluate at most this many images, spread over classes (0 = all)");
  cmd->add_flag("--json", args->json, "Print one JSON object");
  AddThreadsOption(*cmd, args->threads);
  cmd->callback([args, &exit_code] { exit_code = RunEval(*args); });
}

}  // namespace steadyeye::cli
