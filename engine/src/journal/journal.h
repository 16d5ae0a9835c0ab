// Atomic change of an existing file: the rollback journal under the HDF5
// file driver that commits write through (journal_vfd.h).
//
// Between Begin() and Apply(), bytes past the file's size at Begin ("the
// base") are written straight to the file: nothing of the base refers to
// them. Writes inside the base are held in memory, so the base stays on
// disk as it was. Apply() then
//   1. appends the base's original bytes under every held write to the
//      journal, FILE's sibling ".<name>.vh5-journal", and fsyncs it;
//   2. writes the held bytes into the file, applies a pending truncation,
//      fsyncs the file;
//   3. unlinks the journal and fsyncs the directory: the change is done.
// A crash at any point leaves either no journal (nothing of the base was
// touched, or the change is complete) or a journal that Recover() replays:
// the file shrinks back to the base's size and every journaled range gets
// its original bytes back. Abort() forgets the held writes and truncates the
// file back to the base, and its access and modification times to theirs.
//
// The caller holds FILE's exclusive flock for the whole transaction. From
// just before the journal is first written until the transaction ends, a
// death guard (death_guard.h) shares that lock: if the process dies (a
// SIGKILL) the guard rolls FILE back before the lock is free, so no other
// opener ever sees it half-written. Only a power loss leaves the journal to
// the next open's Recover(). Without a guard (the fork failed) it is so
// after any death.
//
// Journal format, little-endian: "VH5JRNL1", u64 base size, u32 CRC-32 of
// the preceding 16 bytes; then records of u64 offset, u64 length, the bytes,
// u32 CRC-32 of offset, length and bytes. Recovery stops at the first record
// that does not check out (a torn tail: written but never fsynced, so the
// file was not touched under it).
//
// Thread safety: none; the owner serializes all calls.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "journal/death_guard.h"
#include "util/crash_point.h"
#include "util/fd.h"
#include "vh5/byte_source.h"
#include "vh5/status.h"

namespace vh5 {

class Transaction {
 public:
  // Rolls back an interrupted transaction on `path` if a journal is there;
  // sets `*recovered` when it did.
  static Status Recover(const std::string& path, bool* recovered = nullptr);
  // Starts a transaction on the existing file `path`.
  static Result<std::unique_ptr<Transaction>> Begin(const std::string& path);
  ~Transaction();  // an open transaction is aborted
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const std::string& path() const { return path_; }
  // A process-wide id, never reused; Find() gives the live transaction
  // with that id, or nullptr once it is gone.
  uint64_t id() const { return id_; }
  static Transaction* Find(uint64_t id);
  // The file's size as the transaction sees it.
  uint64_t size() const { return size_; }
  Status Read(uint64_t offset, size_t len, char* out) const;
  // The same bytes for readers of the file's structures (FileBytes): the
  // base plus every write so far, ending at size().
  const ByteSource& view() const { return view_; }
  Status Write(uint64_t offset, const char* data, size_t len);
  Status Truncate(uint64_t size);

  Status Apply();
  Status Abort();
  // The transaction will be aborted: from now on writes and truncations
  // succeed and change nothing, so that HDF5 can close its handle cleanly
  // (a handle whose close failed crashes HDF5 at exit).
  void Discard() { discard_ = true; }
  // The first Read, Write or Truncate that failed (OK if none): HDF5 reports
  // them only as "write failed", and a full disk must reach the user as such.
  const Status& first_error() const { return first_error_; }

  // Tests only: a transaction exits the process (_exit(99)) on reaching
  // step `step`, as a power loss (the death guard dies too) or a SIGKILL of
  // the process alone (`scope`) at that point would. Steps count from 1 over
  // every write and truncation HDF5 makes, then Apply()'s journal writes,
  // fsyncs, writes in place, truncation and unlink (util/crash_point.h).
  static void CrashAtStepForTesting(int step, crash::Scope scope = crash::Scope::kPowerLoss);
  // Tests only: the steps the last finished transaction took.
  static int LastStepsForTesting();

 private:
  class View final : public ByteSource {
   public:
    explicit View(const Transaction* txn) : txn_(txn) {}
    uint64_t size() const override { return txn_->size(); }
    Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;

   private:
    const Transaction* txn_;
  };

  Transaction(std::string path, Fd fd, uint64_t base);
  Status WriteJournal(const std::string& bytes);
  void Step();

  uint64_t id_;
  std::string path_;
  Fd fd_;
  uint64_t base_;                         // the file's size at Begin
  struct timespec base_times_[2]{};       // its access and modification times then
  uint64_t size_;                         // the file's size as seen inside the transaction
  std::map<uint64_t, std::string> held_;  // disjoint writes inside the base, by offset
  bool open_ = true;
  bool discard_ = false;
  Fd journal_;
  DeathGuard guard_;  // from before the journal is made to the end
  int step_ = 0;
  View view_{this};
  mutable Status first_error_;
  Status Remember(Status s) const {
    if (!s.ok() && first_error_.ok()) first_error_ = s;
    return s;
  }
};

}  // namespace vh5
