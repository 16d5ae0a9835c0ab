// Crash points: places where a test may have the process end at once
// (_exit(99)), as a kill at that moment would, to check what a crash leaves
// behind. Production code passes them at the cost of an atomic load; only
// tests arm them, in their own process or in a vh5fs of their own
// (tests/crashable_vh5fs.cc), never through the environment.
//
// A crash point stands for a power loss by default: the process's
// bystanders (helpers that would otherwise outlive it, such as a journal's
// death guard) are SIGKILLed and reaped first, so the crash leaves what a
// power loss would. Armed with Scope::kProcessOnly it stands for a SIGKILL
// of the process alone, and bystanders live on.
#pragma once

#include <sys/types.h>

namespace vh5::crash {

enum class Point {
  kJournalStep,  // a transaction's n-th step (journal.h: CrashAtStepForTesting)
  kCommitNoted,  // staging's "committing as NAME" durable, the commit not yet begun
  kAfterCommit,  // a staged version committed, its staging state not yet cleared
  kCount,
};

enum class Scope {
  kPowerLoss,    // the process and its bystanders die
  kProcessOnly,  // the process dies; its bystanders live on
};

// The process exits when `point` is next reached with count `at`; 0 disarms.
void Arm(Point point, int at, Scope scope = Scope::kPowerLoss);
// Exits if `point` is armed at `count`.
void Reach(Point point, int count = 1);

// A child process that a power loss would take down with this one (a few
// at a time; more are silently not registered). Remove before reaping it.
void AddBystander(pid_t pid);
void RemoveBystander(pid_t pid);

}  // namespace vh5::crash
