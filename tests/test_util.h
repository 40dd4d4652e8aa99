// Helpers shared by the tests: a temporary folder and running the real binary.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "steadyeye/core/file.h"
#include "steadyeye/core/status.h"

namespace steadyeye::testing {

// A fresh folder under $TMPDIR, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "seye-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `command` through /bin/sh, capturing stdout and stderr separately.
inline CommandResult RunCommand(const std::string& command) {
  TempDir dir;
  const auto out_path = dir / "out", err_path = dir / "err";
  const std::string full =
      command + " >" + out_path.string() + " 2>" + err_path.string() + " </dev/null";
  const int status = std::system(full.c_str());
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

inline std::string Binary() { return SEYE_BINARY; }

inline StatusOr<std::string> ReadFileText(const std::string& path) {
  SEYE_ASSIGN_OR_RETURN(const auto bytes, ReadFileBytes(path));
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace steadyeye::testing
