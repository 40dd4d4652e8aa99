#include "steadyeye/core/priority.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace steadyeye {
namespace {

// Exit codes of the child process, one per way it can fail.
enum ChildResult {
  kAllIdle = 0,
  kCallFailed = 1,
  kCallerNotIdle = 2,
  kOlderNotIdle = 3,
  kNewerNotIdle = 4
};

// In a child process, since the change cannot be undone and would slow every later test.
int LowerPriorityInChild() {
  std::atomic<int> stage{0};
  std::atomic<bool> older_idle{false};
  std::thread older([&] {  // started before the call
    stage = 1;
    while (stage.load() < 2) std::this_thread::yield();
    older_idle = RunsAtIdleCpuPriority();
    stage = 3;
  });
  while (stage.load() < 1) std::this_thread::yield();
  const Status lowered = RunAtIdleCpuPriority();
  stage = 2;
  older.join();
  bool newer_idle = false;
  std::thread newer([&] { newer_idle = RunsAtIdleCpuPriority(); });
  newer.join();
  if (!lowered.ok()) return kCallFailed;
  if (!RunsAtIdleCpuPriority()) return kCallerNotIdle;
  if (!older_idle) return kOlderNotIdle;
  if (!newer_idle) return kNewerNotIdle;
  return kAllIdle;
}

TEST(Priority, EveryThreadOfTheProcessAndEveryLaterOneRunsAtIdlePriority) {
  ASSERT_FALSE(RunsAtIdleCpuPriority());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(LowerPriorityInChild());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), kAllIdle);
  EXPECT_FALSE(RunsAtIdleCpuPriority());  // the test process itself is untouched
}

}  // namespace
}  // namespace steadyeye
