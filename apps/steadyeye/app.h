// How the steadyeye program is put together.
//
// It is two executables built from these sources. Loading LibTorch costs every start about
// 0.6 s and 110 MB in a release build, about 2 s under ASan (its static initialisers and the pages
// they touch; the dynamic linker itself takes ~40 ms; docs/BENCHMARKS.md), and most operational
// commands never touch a model:
//  - `steadyeye` (launcher.cc) holds the commands added by AddCommandsWithoutModel and is linked
//    without LibTorch. Any other command line (model commands, --help, --version, typos) it hands
//    over unchanged, by exec, to its sibling:
//  - `steadyeye-full` (main.cc), every command.
// Users and scripts only ever call `steadyeye`.
#pragma once

#include <CLI/CLI.hpp>

namespace steadyeye::cli {

// The program's name, description and top-level flags, the same in both executables.
void ConfigureApp(CLI::App& app);

// The commands (and `models` subcommands) that run without loading LibTorch.
void AddCommandsWithoutModel(CLI::App& app, int& exit_code);

// Whether `app` has the command the command line names and, for a command that requires a
// subcommand, that subcommand. False for a bare command line or one starting with a flag.
bool AppHandles(const CLI::App& app, int argc, char** argv);

// Replaces this process with steadyeye-full (found beside this executable) on the same
// command line. Returns only on failure, with the exit code after printing why.
int ExecFullProgram(char** argv);

// Parses and runs; the exit code (2 for a usage error, 0 for --help and --version).
int ParseAndRun(CLI::App& app, int argc, char** argv, const int& exit_code);

}  // namespace steadyeye::cli
