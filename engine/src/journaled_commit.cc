#include "journaled_commit.h"

#include <memory>
#include <mutex>

#include "commit.h"
#include "h5_handle.h"
#include "journal.h"
#include "journal_vfd.h"

namespace vh5 {

Status CloseJournaled(hid_t file, Transaction* txn, bool failed) {
  if (failed) txn->Discard();
  if (H5Fclose(file) >= 0) return Status::OK();
  Status s = h5::Error("cannot close");
  txn->Discard();
  H5Fclose(file);
  h5::TakeErrorStack();
  return s;
}

Status CommitAtomically(const std::string& path, const NewVersion& version,
                        std::shared_mutex* apply_lock) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  std::string context = path + ": version " + version.name;
  VH5_ASSIGN_OR_RETURN(std::unique_ptr<Transaction> txn, Transaction::Begin(path));
  VH5_ASSIGN_OR_RETURN(h5::Handle fapl, JournaledFileAccess(txn.get()));
  Status written;
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (file < 0) {
    written = h5::Error(path + ": cannot open for writing");
  } else {
    written = CommitToOpenFile(file, path, version);
    // Closing writes what HDF5 still holds in memory, into the transaction.
    Status closed = CloseJournaled(file, txn.get(), !written.ok());
    if (written.ok() && !closed.ok()) written = closed.WithContext(context);
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
  Status done = txn->Commit();
  return done.ok() ? done : done.WithContext(context);
}

}  // namespace vh5
