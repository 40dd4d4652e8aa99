// The fixture of the server tests: the shared small model and its images, copied into one
// folder per test suite, and `steadyeye serve` started on a store in it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "fixture.h"
#include "server_process.h"
#include "steadyeye/core/file.h"
#include "test_util.h"

namespace steadyeye {

using testing::ServerProcess;

inline std::string ReadText(const std::string& path) {
  const auto bytes = ReadFileBytes(path);
  return bytes.ok() ? std::string(bytes->begin(), bytes->end()) : std::string();
}

class Server : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    setup_ = new std::string;
    const std::string fixture = testing::SharedFixture(*setup_);
    std::filesystem::copy(fixture, dir_->path(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(Path("calibrated.seye"), Path("m.seye"));
    images_.clear();  // suites deriving from this one set up again
    for (const auto& e : std::filesystem::recursive_directory_iterator(Path("images"))) {
      if (e.is_regular_file()) images_.push_back(e.path().string());
    }
    std::sort(images_.begin(), images_.end());
    if (images_.size() != 60)
      *setup_ += "the fixture has " + std::to_string(images_.size()) + " images";
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete setup_;
  }
  void SetUp() override { ASSERT_TRUE(setup_->empty()) << *setup_; }

  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }
  static std::unique_ptr<ServerProcess> Start(const std::string& store,
                                              const std::string& extra = "") {
    auto s = std::make_unique<ServerProcess>(
        "--model " + Path("m.seye") + " --store " + Path(store) + " " + extra,
        *dir_ / (store + ".log"));
    EXPECT_TRUE(s->started()) << s->Log();
    return s;
  }
  // `steadyeye token create` on `store`: stdout holds the token and nothing else.
  static std::string CreateToken(const std::string& store, const std::string& role,
                                 const std::string& name) {
    const auto r = testing::RunCommand(testing::Binary() + " token create --store " + Path(store) +
                                       " --role " + role + " --name " + name);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::regex_match(r.out, std::regex("seye_[0-9]+_[0-9a-f]{64}\n"))) << r.out;
    return r.out.substr(0, r.out.find('\n'));
  }
  static httplib::Headers Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  static httplib::Result Post(httplib::Client& c, const std::string& query,
                              const std::string& body) {
    return c.Post(("/v1/predict?" + query).c_str(), body, "application/octet-stream");
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string* setup_ = nullptr;
  static inline std::vector<std::string> images_;
};

}  // namespace steadyeye
