#include "steadyeye/core/priority.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace steadyeye {

namespace {

Status SetIdlePolicy(pid_t tid) {
  sched_param param{};
  param.sched_priority = 0;
  // On Linux the policy belongs to a thread (tid), not to the process.
  if (sched_setscheduler(tid, SCHED_IDLE, &param) == 0) return Status::Ok();
  const int err = errno;
  if (err == ESRCH) return Status::Ok();  // the thread ended meanwhile: nothing to lower
  return UnavailableError("cannot move thread " + std::to_string(tid) +
                          " to SCHED_IDLE: " + std::strerror(err));
}

}  // namespace

Status RunAtIdleCpuPriority() {
  // The calling thread first, so that any thread it starts from here on inherits the policy.
  if (Status s = SetIdlePolicy(pid_t(syscall(SYS_gettid))); !s.ok()) return s;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    const pid_t tid = pid_t(std::strtol(entry.path().filename().c_str(), nullptr, 10));
    if (tid <= 0) continue;
    if (Status s = SetIdlePolicy(tid); !s.ok()) return s;
  }
  if (ec) return UnavailableError("cannot list this process's threads: " + ec.message());
  return Status::Ok();
}

bool RunsAtIdleCpuPriority() { return sched_getscheduler(0) == SCHED_IDLE; }

}  // namespace steadyeye
