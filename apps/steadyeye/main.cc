// steadyeye: image recognition that stays accurate in production. One binary, subcommands.
#include <CLI/CLI.hpp>

#include "common.h"
#include "steadyeye/core/allocator.h"

#ifndef SEYE_VERSION
#define SEYE_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  steadyeye::TuneAllocatorForLargeBuffers();
  CLI::App app{"steadyeye: image recognition that stays accurate in production"};
  app.set_version_flag("--version", std::string("steadyeye ") + SEYE_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  namespace cli = steadyeye::cli;
  cli::AddDemoCommand(app, exit_code);
  cli::AddTrainCommand(app, exit_code);
  cli::AddEvalCommand(app, exit_code);
  cli::AddPredictCommand(app, exit_code);
  cli::AddExportImagesCommand(app, exit_code);
  cli::AddModelCardCommand(app, exit_code);
  cli::AddImportTorchScriptCommand(app, exit_code);
  cli::AddShiftCommand(app, exit_code);
  cli::AddQualityCommand(app, exit_code);
  cli::AddReportCommand(app, exit_code);
  cli::AddCalibrateCommand(app, exit_code);
  cli::AddServeCommand(app, exit_code);
  cli::AddCapturesCommand(app, exit_code);
  cli::AddTokenCommand(app, exit_code);
  cli::AddModelsCommand(app, exit_code);
  cli::AddAdaptCommand(app, exit_code);
  cli::AddRetrainCommand(app, exit_code);
  cli::AddLoopCommand(app, exit_code);
  cli::AddReplayCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // CLI11 uses 0 for --help/--version; any real parse error is a usage error.
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
