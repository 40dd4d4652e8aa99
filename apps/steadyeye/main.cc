// steadyeye-full: every steadyeye command, including those that load models (app.h). Started by
// steadyeye; runs the same when started directly.
#include <CLI/CLI.hpp>

#include "app.h"
#include "common.h"
#include "steadyeye/core/allocator.h"

int main(int argc, char** argv) {
  steadyeye::TuneAllocatorForLargeBuffers();
  namespace cli = steadyeye::cli;
  CLI::App app;
  cli::ConfigureApp(app);
  int exit_code = 0;
  cli::AddDemoCommand(app, exit_code);
  cli::AddTrainCommand(app, exit_code);
  cli::AddEvalCommand(app, exit_code);
  cli::AddPredictCommand(app, exit_code);
  cli::AddExportImagesCommand(app, exit_code);
  cli::AddModelCardCommand(app, exit_code);
  cli::AddImportTorchScriptCommand(app, exit_code);
  cli::AddReportCommand(app, exit_code);
  cli::AddCalibrateCommand(app, exit_code);
  cli::AddServeCommand(app, exit_code);
  cli::AddAdaptCommand(app, exit_code);
  cli::AddRetrainCommand(app, exit_code);
  cli::AddLoopCommand(app, exit_code);
  cli::AddCommandsWithoutModel(app, exit_code);
  CLI::App* models = app.get_subcommand("models");
  cli::AddModelsRegisterSubcommand(*models, exit_code);
  cli::AddGateSubcommand(*models, exit_code);
  return cli::ParseAndRun(app, argc, argv, exit_code);
}
