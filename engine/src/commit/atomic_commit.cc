#include "commit/atomic_commit.h"

#include <atomic>
#include <memory>
#include <mutex>

#include "commit/mapping_patch.h"
#include "commit/version_writer.h"
#include "hdf5/h5_handle.h"
#include "journal/held_lock.h"
#include "journal/journal.h"
#include "journal/journal_vfd.h"

namespace vh5 {

namespace {

std::atomic<bool> refuse_patches_for_testing{false};
std::atomic<int> last_patched{0};
std::atomic<int> last_retried{0};

// One attempt at the commit. With `remap`, datasets get their mapping lists
// after the close (mapping_patch.h);
// `*remap_failed` says that was refused, the transaction aborted, and the
// caller should try again without.
Status CommitOnce(const std::string& path, const VersionPlan& plan, std::shared_mutex* apply_lock,
                  bool remap, bool* remap_failed) {
  std::string context = path + ": version " + plan.version->name;
  VH5_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn, Transaction::Begin(path));
  VH5_ASSIGN_OR_RETURN(h5::Handle fapl, JournaledFileAccess(txn.get()));
  // A commit touches every object header it links (a wide version: 10,000
  // of them, as many symbol table nodes): at HDF5's first 2 MiB the cache
  // evicts and reloads them throughout; it starts as large as it may grow.
  H5AC_cache_config_t mdc{};
  mdc.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  if (H5Pget_mdc_config(fapl.get(), &mdc) >= 0) {
    mdc.set_initial_size = true;
    mdc.initial_size = mdc.max_size;
    if (H5Pset_mdc_config(fapl.get(), &mdc) < 0) h5::TakeErrorStack();
  }
  Status written;
  std::vector<MappingPatch> patches;
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (file < 0) {
    written = h5::Error(path + ": cannot open for writing");
  } else {
    written = WriteVersion(file, path, plan, remap ? &patches : nullptr);
    Result<FileBytes> bytes = FileBytes::Of(file, &txn->view());
    if (written.ok() && !patches.empty() && !bytes.ok()) {
      written = bytes.status();
      *remap_failed = true;
    }
    // Closing writes what HDF5 still holds in memory, into the transaction.
    Status closed = CloseJournaled(file, txn.get(), !written.ok());
    if (written.ok() && !closed.ok()) written = closed.WithContext(context);
    if (written.ok() && !patches.empty()) {
      written = refuse_patches_for_testing ? Status::Unsupported("patches refused for testing")
                                           : ApplyMappingPatches(*bytes, txn.get(), patches);
      if (!written.ok() && txn->first_error().ok()) *remap_failed = true;
    }
    if (written.ok()) last_patched = static_cast<int>(patches.size());
  }
  if (!written.ok()) {
    Status io = txn->first_error();
    Status aborted = txn->Abort();
    if (io.code() == Status::Code::kNoSpace) written = io.WithContext(context);
    if (!aborted.ok()) return written.WithContext(aborted.ToString());
    return written;
  }
  std::unique_lock<std::shared_mutex> lock;
  if (apply_lock) lock = std::unique_lock<std::shared_mutex>(*apply_lock);
  Status done = txn->Apply();
  return done.ok() ? done : done.WithContext(context);
}

}  // namespace

Status CommitAtomically(const std::string& path, const VersionPlan& plan,
                        std::shared_mutex* apply_lock) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  last_patched = 0;
  last_retried = 0;
  bool remap_failed = false;
  Status s = CommitOnce(path, plan, apply_lock, true, &remap_failed);
  if (!remap_failed) return s;
  last_retried = 1;
  return CommitOnce(path, plan, apply_lock, false, &remap_failed);
}

RemapCounts LastRemapCountsForTesting() { return {last_patched, last_retried}; }

void RefuseMappingPatchesForTesting(bool refuse) { refuse_patches_for_testing = refuse; }

Status CommitVersion(const std::string& path, const VersionPlan& plan) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  VH5_RETURN_IF_ERROR(RecoverInterruptedChange(path));
  if (H5Fis_hdf5(path.c_str()) <= 0) return Status::NotHdf5(path + ": not an HDF5 file");
  VH5_ASSIGN_OR_RETURN(Fd lock, HoldFileLock(path, /*exclusive=*/true));
  return CommitAtomically(path, plan, nullptr);
}

Status CommitVersion(const std::string& path, const NewVersion& version) {
  return CommitVersion(path, PlanAsGiven(version));
}

}  // namespace vh5
