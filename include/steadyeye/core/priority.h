// CPU priority of background work (retraining, adaptation, the loop worker) beside a server.
//
// On a small machine a bounded thread count is not enough: one training thread still takes a
// core the server's request threads want in bursts, and under the default scheduler a woken
// request thread can wait behind it. Linux's SCHED_IDLE policy runs a thread only when no
// ordinary thread wants the core, so serving keeps its latency and training still gets every
// cycle serving leaves. (nice 19 was tried first: it lowers training's share, not the wait of a
// woken request thread; docs/BENCHMARKS.md has both.)
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
