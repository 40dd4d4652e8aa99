#include "app.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "common.h"

#ifndef SEYE_VERSION
#define SEYE_VERSION "0.0.0"
#endif

namespace steadyeye::cli {

void ConfigureApp(CLI::App& app) {
  app.description("steadyeye: image recognition that stays accurate in production");
  app.set_version_flag("--version", std::string("steadyeye ") + SEYE_VERSION);
  app.set_help_all_flag("--help-all", "Print this help with every command's options expanded");
  app.require_subcommand(1);
}

void AddCommandsWithoutModel(CLI::App& app, int& exit_code) {
  AddShiftCommand(app, exit_code);
  AddQualityCommand(app, exit_code);
  AddCapturesCommand(app, exit_code);
  AddTokenCommand(app, exit_code);
  AddModelsCommand(app, exit_code);
  AddReplayCommand(app, exit_code);
}

namespace {

const CLI::App* FindSubcommand(const CLI::App& app, const std::string& name) {
  // CLI11 2.1 has no non-throwing lookup by name.
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->check_name(name)) return sub;
  }
  return nullptr;
}

}  // namespace

bool AppHandles(const CLI::App& app, int argc, char** argv) {
  if (argc < 2) return false;
  const CLI::App* command = FindSubcommand(app, argv[1]);
  if (command == nullptr) return false;
  // A command made of subcommands (models) has some only steadyeye-full holds; `models --help`
  // must list those too.
  if (command->get_require_subcommand_min() == 0) return true;
  return argc >= 3 && FindSubcommand(*command, argv[2]) != nullptr;
}

int ExecFullProgram(char** argv) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    std::fprintf(stderr, "steadyeye: error: cannot locate this executable (/proc/self/exe): %s\n",
                 ec.message().c_str());
    return kExitFailure;
  }
  const std::string full = (self.parent_path() / "steadyeye-full").string();
  execv(full.c_str(), argv);
  std::fprintf(stderr,
               "steadyeye: error: cannot start %s, which runs the commands that load models: "
               "%s\n",
               full.c_str(), std::strerror(errno));
  return kExitFailure;
}

int ParseAndRun(CLI::App& app, int argc, char** argv, const int& exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // CLI11 uses 0 for --help/--version; any real parse error is a usage error.
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace steadyeye::cli
