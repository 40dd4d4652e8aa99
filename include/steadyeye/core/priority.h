// CPU priority of background work (retraining, adaptation, the loop worker) beside a server.
//
// On a small machine a bounded thread count is not enough: one training thread still takes a
// core the server's request threads want in bursts, and under the default scheduler a woken
// request thread can wait behind it. Linux's SCHED_IDLE policy runs a thread only when no
// ordinary thread wants the core, and training still gets every cycle serving leaves. Measured
// beside serve_bench on 2 vCPUs (docs/BENCHMARKS.md): the median latency during retraining
// halves against normal priority; the p99 stays near 2x idle there, as it does beside a bare
// idle-priority spin loop, so that part is the machine's and not the scheduler's.
#pragma once

#include "steadyeye/core/status.h"

namespace steadyeye {

// Moves every thread of this process to SCHED_IDLE; threads started afterwards inherit it from
// their creator. Not reversible without privileges, so call it only in a process that does
// background work and nothing else. Safe to call from any thread, more than once.
// Unavailable when the kernel or a sandbox refuses it (errno's text in the message); the caller
// may go on at normal priority.
[[nodiscard]] Status RunAtIdleCpuPriority();

// Whether the calling thread runs under SCHED_IDLE.
bool RunsAtIdleCpuPriority();

}  // namespace steadyeye
