// Crash points: places where a test may have the process end at once
// (_exit(99)), as a kill at that moment would, to check what a crash leaves
// behind. Production code passes them at the cost of an atomic load; only
// tests arm them, in their own process or in a vh5fs of their own
// (tests/crashable_vh5fs.cc), never through the environment.
#pragma once

namespace vh5::crash {

enum class Point {
  kJournalStep,  // a transaction's n-th step (journal.h: CrashAtStepForTesting)
  kCommitNoted,  // staging's "committing as NAME" durable, the commit not yet begun
  kAfterCommit,  // a staged version committed, its staging state not yet cleared
  kCount,
};

// The process exits when `point` is next reached with count `at`; 0 disarms.
void Arm(Point point, int at);
// Exits if `point` is armed at `count`.
void Reach(Point point, int count = 1);

}  // namespace vh5::crash
