// steadyeye: image recognition that stays accurate in production. The commands that need no
// model run here, without loading LibTorch; the rest run in steadyeye-full (app.h).
#include <CLI/CLI.hpp>

#include "app.h"
#include "steadyeye/core/allocator.h"

int main(int argc, char** argv) {
  namespace cli = steadyeye::cli;
  CLI::App app;
  cli::ConfigureApp(app);
  int exit_code = 0;
  cli::AddCommandsWithoutModel(app, exit_code);
  if (!cli::AppHandles(app, argc, argv)) return cli::ExecFullProgram(argv);
  steadyeye::TuneAllocatorForLargeBuffers();
  return cli::ParseAndRun(app, argc, argv, exit_code);
}
