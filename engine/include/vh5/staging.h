// A writable tree over a base version: what vh5fs shows as staging/.
//
// Nothing is copied until written: an untouched dataset reads from its base
// version, and a written one keeps only the pages written, in a scratch file
// (see staged_content.h), so memory stays small whatever is written. Flush()
// checks a dataset's content as close(2) does.
// Metadata set on a dataset new in this tree (dtype, shape, chunks,
// fillvalue, compression) reinterprets its bytes; on a dataset that exists in
// the base, only what the format can hold (shape) may change.
//
// A durable staging (Open) keeps its state in a directory beside the
// versioned file, so that staged changes survive an unmount and a crash
// (doc/staging.md): every change is a record in a log, written before the
// call returns; a dataset's content is persisted as of its last Flush().
//
// Paths are relative to the tree's root, '/'-separated; "" is the root.
// Thread safety: none; the caller serializes all calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/metadata.h"
#include "vh5/status.h"
#include "vh5/version.h"
#include "vh5/writer.h"

namespace vh5 {

class RecordWriter;
class ScratchFile;
class VersionedFile;

class Staging {
 public:
  // A staging tree mirroring `base` (nullptr: an empty tree) that lasts as
  // long as this object. Written pages spill into an unnamed file in
  // `scratch_dir` (the versioned file's directory; empty: the working
  // directory).
  explicit Staging(std::shared_ptr<const Version> base, std::string scratch_dir = "");
  // A durable staging over `file` (opened read-write): the one persisted
  // beside it, if any, else a fresh tree over its current version. A state
  // that cannot be read is set aside (renamed ".<name>.vh5-staging.broken-
  // <time>"); one already committed (a crash between a commit and clearing
  // its state) is dropped; `*note` then says so in one line, for a log.
  // An error only when the state can be neither read nor set aside.
  static Result<std::unique_ptr<Staging>> Open(const VersionedFile& file, std::string* note);
  // Where Open() keeps the state of `file_path`: ".<name>.vh5-staging" beside it.
  static std::string StateDir(const std::string& file_path);
  // The base version a persisted state of `file_path` names, for offline
  // tools (nullopt: no state); an error when its log cannot be read.
  static Result<std::optional<std::string>> PersistedBase(const std::string& file_path);
  ~Staging();  // a durable staging syncs its state first
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  // The base version's name, or kFirstVersionName for an empty base.
  const std::string& base_name() const { return base_name_; }
  bool HasChanges() const { return changed_; }
  bool durable() const { return !state_dir_.empty(); }

  // What fsync(2) promises: every change made so far (datasets as of their
  // last Flush) survives a power loss.
  Status Sync();

  // Settings of the next commit (user.vh5.timestamp, user.vh5.make_current),
  // persisted with the changes. An empty timestamp: the time of the commit.
  const std::string& commit_timestamp() const { return commit_timestamp_; }
  bool make_current() const { return make_current_; }
  Status SetCommitTimestamp(const std::string& timestamp);
  Status SetMakeCurrent(bool make_current);

  // Mirrors another base; Busy while there are changes. Settings stay.
  Status Rebase(std::shared_ptr<const Version> base);
  // Drops every change and setting: the tree mirrors its base again and the
  // persisted state is deleted. `keep_base`: a state naming only the base
  // is kept, so that the next Open() mirrors the same base.
  Status Discard(bool keep_base);
  // Around a commit of `version` (from ToNewVersion): BeginCommit fixes its
  // timestamp (now, unless set) and durably notes its name and timestamp,
  // so that Open() after a crash drops a state already committed;
  // EndCommit(false) notes the failure; EndCommit(true) deletes the state
  // and mirrors `new_base`, settings reset (an error only about deleting
  // the state: the tree is reset whatever happens).
  Status BeginCommit(NewVersion* version);
  Status EndCommit(bool committed, std::shared_ptr<const Version> new_base);

  Result<NodeKind> Kind(std::string_view path) const;
  Result<std::vector<DirEntry>> List(std::string_view path) const;
  // The dataset's metadata as it stands, attributes included.
  Result<DatasetInfo> Info(std::string_view path) const;
  Result<uint64_t> Size(std::string_view path) const;
  Result<size_t> Read(std::string_view path, uint64_t offset, size_t len, char* out) const;
  Result<Attributes> GetAttributes(std::string_view path) const;

  Status Mkdir(std::string_view path);
  Status Rmdir(std::string_view path);
  // A new, empty dataset: 1-D |u1 until its metadata says otherwise.
  Status CreateDataset(std::string_view path);
  Status Unlink(std::string_view path);
  // Moves a node; replaces a dataset at `to`, or an empty group by a group.
  Status Rename(std::string_view from, std::string_view to);

  // The bytes written: fewer than data.size() when the disk filled part way.
  Result<size_t> Write(std::string_view path, uint64_t offset, std::string_view data);
  Status Truncate(std::string_view path, uint64_t size);
  // What close(2) checks: a fixed-size dataset holds whole rows, a string
  // dataset whole lines. InvalidArgument, and the last valid content back,
  // when it does not.
  Status Flush(std::string_view path);

  // `name` of user.h5.<name>: the text; the type stays what it was (a new
  // attribute is a string until SetAttributeType says otherwise).
  Status SetAttributeText(std::string_view path, const std::string& name, const std::string& text);
  Status SetAttributeType(std::string_view path, const std::string& name, const std::string& type);
  Status RemoveAttribute(std::string_view path, const std::string& name);
  // One of "dtype", "shape", "chunks", "fillvalue", "compression" (user.vh5.<key>).
  Status SetMetadata(std::string_view path, const std::string& key, const std::string& value);

  // The staged tree as a version to commit, with the settings above. Its
  // datasets read their content from this tree, which must not change
  // until the commit is done.
  Result<NewVersion> ToNewVersion(const std::string& name) const;

  // Scratch pages held by staged datasets (ScratchFile::kPageSize each).
  uint64_t ScratchPages() const;

 private:
  struct Node;
  Result<Node*> Find(std::string_view path) const;
  Result<Node*> Parent(std::string_view path, std::string* leaf) const;
  Status Materialize(Node* node);
  // Another shape of the same rank whose trailing dimensions differ: every
  // element keeps its index, new cells read as the fill value.
  Status Regrid(Node* node, const std::vector<uint64_t>& shape);

  // The tree, nothing staged: the base's names and kinds.
  void MirrorBase();
  Status FlushNode(Node* node, std::string_view path, bool* checkpointed);
  Status ChangeMetadata(Node* node, std::string_view path, const std::string& key,
                        const std::string& value, bool* flushed);
  Status MoveNode(std::string_view from, std::string_view to);

  // Durability (staging_durable.cc).
  Staging(std::shared_ptr<const Version> base, std::string state_dir, bool mirror);
  // Buffers a record of a change (nothing when not durable or replaying);
  // before the first log exists too, which CreateLog() then writes.
  void Log(uint8_t type, std::string payload);
  void LogDataset(std::string_view path, Node* node);
  void LogAttributes(std::string_view path, Node* node);
  // How far Persist() takes the buffered records.
  enum class Durability {
    kWritten,        // write(2): a kill of the process loses nothing
    kRecordsSynced,  // and fdatasync of the log, the pages aside (a commit's note)
    kSynced,         // the pages, then the records and a kSynced mark, fdatasync'ed
  };
  // Writes the buffered records as `durability` asks. Rewrites the log
  // whole when it lacks a change (a failed write) or has grown large.
  Status Persist(Durability durability);
  // Before the first page is written: the log exists, with its space
  // reserved, while the disk has room (a full one must still take the
  // record of a removal that frees pages).
  Status EnsureState();
  // The first log since the tree mirrored its base: a header naming the
  // base, then the records buffered so far. Written, not synced.
  Status CreateLog();
  Status WriteLog(Durability durability);
  // Rewrites the log whole, as a snapshot of the tree. Replacing a log, or
  // asked kSynced, it syncs the pages and the snapshot (with a kSynced mark)
  // before the rename and the directories after; a first log is only written.
  Status Compact(Durability durability = Durability::kWritten);
  bool ReclaimScratch();
  Status Replay(uint8_t type, const std::string& payload);
  Status AdoptPages();
  // Back to a fresh tree over `base`, nothing persisted.
  void Reset(std::shared_ptr<const Version> base);

  std::shared_ptr<const Version> base_;
  std::shared_ptr<ScratchFile> scratch_;
  std::string base_name_;
  std::unique_ptr<Node> root_;
  bool changed_ = false;
  std::string commit_timestamp_;
  bool make_current_ = true;

  std::string scratch_dir_;  // not durable: where scratch files go
  std::string state_dir_;    // empty: not durable
  std::unique_ptr<RecordWriter> log_;
  bool need_state_ = false;      // a change awaits a log that does not exist yet
  bool stale_ = false;           // the log lacks a change
  bool unsynced_ = false;        // records were written since the last kSynced mark
  bool session_logged_ = false;  // this process's kSession leads its records in the log
  bool dirs_unsynced_ = false;   // the state's directory entries await an fsync
  bool replaying_ = false;
  uint64_t snapshot_bytes_ = 0;  // the log's size when last rewritten whole
  // The last "committing as" record since the last change: name, timestamp.
  std::string committing_;
  std::string committing_timestamp_;
};

}  // namespace vh5
