// A commit made atomic.
//
// The version is written inside a Transaction (journal.h), through a
// read-write HDF5 handle of its own (journal_vfd.h) that lives for this one
// commit. HDF5 takes a handle of another driver for another file, so nothing
// of it reaches the readers' read-only handle, and a commit that fails
// leaves nothing behind: not on disk (the transaction aborts) and not in
// memory (its handle is gone).
#pragma once

#include <shared_mutex>
#include <string>

#include "commit/version_plan.h"
#include "vh5/status.h"

namespace vh5 {

// Commits `plan` into `path`; the caller holds the file's exclusive lock
// (held_lock.h). `apply_lock`, if given, is held exclusively while the
// commit's bytes go into the file in place, which takes milliseconds:
// readers holding it shared never see metadata half written. A full disk is
// NoSpace, whatever HDF5 made of it.
//
// Mapping lists are stored by the commit itself after the close
// (mapping_patch.h); should that be refused, the transaction is aborted and
// the commit made again the ordinary way.
Status CommitAtomically(const std::string& path, const VersionPlan& plan,
                        std::shared_mutex* apply_lock);

// Takes `path`'s exclusive lock (rolling back an interrupted change first)
// and commits `plan` atomically: CommitVersion (vh5/writer.h) for a plan.
Status CommitVersion(const std::string& path, const VersionPlan& plan);

// Tests only: datasets whose list the last commit of this process stored,
// and whether it had to commit again without patching (0 or 1).
struct RemapCounts {
  int patched = 0;
  int retried = 0;
};
RemapCounts LastRemapCountsForTesting();
// Tests only: every patch is refused, as an unexpected copy would be.
void RefuseMappingPatchesForTesting(bool refuse);

}  // namespace vh5
