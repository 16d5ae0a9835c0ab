// vh5fs with the engine's crash points armed from the environment, for the
// tests that kill it at a chosen moment (mount_crash, mount_durable): the
// real vh5fs never reads them.
//   VH5_TEST_CRASH_AT_STEP=N         exit at the N-th step of a transaction
//   VH5FS_TEST_EXIT_AFTER_COMMIT=1   exit once a commit of staging/ is
//                                    durable, before its state is cleared
#include <cstdlib>

#include "run.h"
#include "util/crash_point.h"

int main(int argc, char** argv) {
  if (const char* step = std::getenv("VH5_TEST_CRASH_AT_STEP"))
    vh5::crash::Arm(vh5::crash::Point::kJournalStep, std::atoi(step));
  if (std::getenv("VH5FS_TEST_EXIT_AFTER_COMMIT"))
    vh5::crash::Arm(vh5::crash::Point::kAfterCommit, 1);
  return vh5fs::Run(argc, argv);
}
