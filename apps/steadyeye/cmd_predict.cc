#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "common.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/model/predict.h"

namespace steadyeye::cli {

namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> files;
  int threads = 0;
  bool json = false;
};

void PrintPrediction(const std::string& file, const Prediction& p, const ModelCard& card,
                     bool json) {
  if (json) {
    nlohmann::json top = nlohmann::json::array();
    for (auto [label, prob] : p.top)
      top.push_back({{"label", card.class_names[label]}, {"probability", prob}});
    nlohmann::json out = {{"file", file},
                          {"label", card.class_names[p.label]},
                          {"probability", p.probability},
                          {"top", top},
                          {"model_id", card.id}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::string top;
  for (auto [label, prob] : p.top)
    top += fmt::format("{}{} {:.3f}", top.empty() ? "" : ", ", card.class_names[label], prob);
  std::printf("%s: %s (%.3f)   top: %s\n", file.c_str(), card.class_names[p.label].c_str(),
              p.probability, top.c_str());
}

void PrintError(const std::string& file, const Status& status, bool json) {
  if (json) {
    std::printf("%s\n",
                nlohmann::json({{"file", file}, {"error", status.message()}}).dump().c_str());
  } else {
    std::fprintf(stderr, "%s: error: %s\n", file.c_str(), status.message().c_str());
  }
}

int RunPredict(const PredictArgs& args) {
  ConfigureCompute(args.threads);
  auto model = Classifier::Load(args.model);
  if (!model.ok()) return Fail(model.status());
  int failures = 0;
  for (const auto& file : args.files) {
    auto image = LoadImageFile(file);
    StatusOr<std::vector<Prediction>> preds =
        image.ok() ? PredictImages(**model, std::span<const Image>(&*image, 1))
                   : StatusOr<std::vector<Prediction>>(image.status());
    if (preds.ok()) {
      PrintPrediction(file, preds->front(), (*model)->card(), args.json);
    } else {
      PrintError(file, preds.status(), args.json);
      ++failures;
    }
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : kExitFailure;
}

}  // namespace

void AddPredictCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<PredictArgs>();
  auto* cmd = app.add_subcommand("predict", "Classify image files (PNG or JPEG)");
  cmd->add_option("--model", args->model, "Model bundle (.seye)")->required();
  cmd->add_option("files", args->files, "Image files")->required();
  cmd->add_flag("--json", args->json, "One JSON object per line");
  AddThreadsOption(*cmd, args->threads);
  cmd->callback([args, &exit_code] { exit_code = RunPredict(*args); });
}

}  // namespace steadyeye::cli
