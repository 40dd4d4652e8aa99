#include <filesystem>
#include <memory>

#include "common.h"

namespace steadyeye::cli {

namespace {

struct DemoArgs {
  std::string model = "models/base.seye";
  int threads = 0;
  bool retrain = false;
};

// Until the closed loop exists, the demo is the lab half of the story: train (or reuse) the
// default model on Fashion-MNIST's train split and evaluate it on the untouched test split.
int RunDemo(const DemoArgs& args) {
  if (args.retrain || !std::filesystem::exists(args.model)) {
    std::printf("== training the default model on fashion-mnist (train split) -> %s\n",
                args.model.c_str());
    TrainArgs train;
    train.out = args.model;
    train.options.threads = args.threads;
    if (const int code = RunTrain(train); code != 0) return code;
  } else {
    std::printf("== reusing %s (pass --retrain to train again)\n", args.model.c_str());
  }
  std::printf("\n== evaluating on fashion-mnist:test (never used for training or tuning)\n");
  EvalArgs eval;
  eval.model = args.model;
  eval.threads = args.threads;
  return RunEval(eval);
}

}  // namespace

void AddDemoCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand("demo", "Train (or reuse) the default model and evaluate it");
  cmd->add_option("--model", args->model, "Model bundle to reuse or create")->capture_default_str();
  cmd->add_flag("--retrain", args->retrain, "Train even if the model exists");
  AddThreadsOption(*cmd, args->threads);
  cmd->callback([args, &exit_code] { exit_code = RunDemo(*args); });
}

}  // namespace steadyeye::cli
