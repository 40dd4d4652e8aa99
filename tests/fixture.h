// Test helper: the shared fixture of the CLI and server tests (tests/fixtures/make_fixture.sh),
// made by CTest once per run, or here when a test binary runs alone and finds none.
#pragma once

#include <filesystem>
#include <string>

#include "test_util.h"

namespace steadyeye::testing {

// The fixture folder, made if missing. Empty `error` on success.
inline std::string SharedFixture(std::string& error) {
  const std::string dir = SEYE_FIXTURE_DIR;
  if (!std::filesystem::exists(dir + "/dark.png")) {
    const auto r = RunCommand("bash " SEYE_FIXTURE_SCRIPT " " + Binary() + " " + dir);
    if (r.exit_code != 0) error = "making the test fixture failed: " + r.err;
  }
  return dir;
}

}  // namespace steadyeye::testing
