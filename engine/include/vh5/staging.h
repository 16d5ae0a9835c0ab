// A writable tree over a base version: what vh5fs shows as staging/.
//
// Nothing is copied until written: an untouched dataset reads from its base
// version, and a written one keeps only the pages written, in a scratch file,
// so memory stays small whatever is written. Flush() checks a dataset's
// content as close(2) does.
// Metadata set on a dataset new in this tree (dtype, shape, chunks,
// fill value, compression) reinterprets its bytes; on a dataset that exists
// in the base, only what the format can hold (shape) may change.
//
// A durable staging (Open) keeps its state in a directory beside the
// versioned file, so that staged changes survive an unmount and a crash
// (doc/staging.md): every change is a record in a log, written before the
// call returns; a dataset's content is persisted as of its last Flush().
//
// Nodes have identities: a NodeId names one group or dataset for as long as
// it lives, wherever it is moved, and is never reused for another node of
// the same Staging (the root is always kRootId). A node removed from the
// tree (Unlink, Rmdir, replaced by Rename, or gone when the tree is rebuilt
// by a commit, a discard or a rebase) dies at once unless it is held
// (Hold): then it lives on, detached, until its last Release, reading and
// writing its own content, which is no longer part of the staged state
// (not committed, not persisted). When the tree is rebuilt, each new node
// takes the id of the old node at the same path and of the same kind, and
// its holds: a path keeps naming the same id across a commit.
//
// Every operation takes a node id (or a parent id and a name); the
// path-based overloads resolve the path, then do the same. Paths are
// relative to the tree's root, '/'-separated; "" is the root.
// Thread safety: none; the caller serializes all calls.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/metadata.h"
#include "vh5/status.h"
#include "vh5/version.h"

namespace vh5 {

class StagingTree;  // the implementation (engine/src/staging/staging_tree.h)
class VersionedFile;

class Staging {
 public:
  using NodeId = uint64_t;
  static constexpr NodeId kRootId = 1;

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
  const std::string& base_name() const;
  bool HasChanges() const;
  bool durable() const;

  // What fsync(2) promises: every change made so far (datasets as of their
  // last Flush) survives a power loss.
  Status Sync();

  // Settings of the next commit (user.vh5.timestamp, user.vh5.make_current),
  // persisted with the changes. An empty timestamp: the time of the commit.
  const std::string& commit_timestamp() const;
  bool make_current() const;
  Status SetCommitTimestamp(const std::string& timestamp);
  Status SetMakeCurrent(bool make_current);

  // Mirrors another base; Busy while there are changes. Settings stay.
  Status Rebase(std::shared_ptr<const Version> base);
  // Drops every change and setting: the tree mirrors its base again and the
  // persisted state is deleted. `keep_base`: a state naming only the base
  // is kept, so that the next Open() mirrors the same base.
  Status Discard(bool keep_base);
  // Commits the staged tree onto `file` (the versioned file of its base,
  // opened read-write) as version `name`, with the settings above. A
  // dataset left as it was keeps its base's chunks unread; a written one is
  // compared and hashed only where it changed. "Committing as NAME" is noted
  // durably first, so that a crash once the commit is made, before the
  // state is cleared, does not bring the changes back as new. Then the tree
  // mirrors the file's current version, settings reset, and the state is
  // deleted; `*note` (if given) says in one line for a log what of that
  // failed: the commit itself is done. A commit that fails leaves the tree
  // and its state as they were.
  Status Commit(VersionedFile& file, const std::string& name, std::string* note = nullptr);

  // Identities. NotFound for a name not in `parent`, or a parent that is
  // no longer in the tree; NotADirectory for a dataset's "children".
  Result<NodeId> Lookup(NodeId parent, std::string_view name) const;
  Result<NodeId> Resolve(std::string_view path) const;
  // In the tree (false: detached, or no such node).
  bool Attached(NodeId node) const;
  // Keeps a node alive while it is removed from the tree; counted, one
  // Release() each. NotFound when no such node lives.
  Status Hold(NodeId node);
  void Release(NodeId node);

  Result<NodeKind> Kind(NodeId node) const;
  Result<NodeKind> Kind(std::string_view path) const;
  Result<std::vector<DirEntry>> List(NodeId node) const;
  Result<std::vector<DirEntry>> List(std::string_view path) const;
  // The dataset's metadata as it stands, attributes included.
  Result<DatasetInfo> Info(NodeId node) const;
  Result<DatasetInfo> Info(std::string_view path) const;
  Result<uint64_t> Size(NodeId node) const;
  Result<uint64_t> Size(std::string_view path) const;
  Result<size_t> Read(NodeId node, uint64_t offset, size_t len, char* out) const;
  Result<size_t> Read(std::string_view path, uint64_t offset, size_t len, char* out) const;
  Result<Attributes> GetAttributes(NodeId node) const;
  Result<Attributes> GetAttributes(std::string_view path) const;

  Result<NodeId> Mkdir(NodeId parent, std::string_view name);
  Status Mkdir(std::string_view path);
  Status Rmdir(NodeId parent, std::string_view name);
  Status Rmdir(std::string_view path);
  // A new, empty dataset: 1-D |u1 until its metadata says otherwise.
  Result<NodeId> CreateDataset(NodeId parent, std::string_view name);
  Status CreateDataset(std::string_view path);
  Status Unlink(NodeId parent, std::string_view name);
  Status Unlink(std::string_view path);
  // Moves a node; replaces a dataset at the target, or an empty group by a group.
  Status Rename(NodeId parent, std::string_view name, NodeId new_parent, std::string_view new_name);
  Status Rename(std::string_view from, std::string_view to);

  // The bytes written: fewer than data.size() when the disk filled part way.
  Result<size_t> Write(NodeId node, uint64_t offset, std::string_view data);
  Result<size_t> Write(std::string_view path, uint64_t offset, std::string_view data);
  Status Truncate(NodeId node, uint64_t size);
  Status Truncate(std::string_view path, uint64_t size);
  // The fill value's bytes over [offset, offset + len), growing the dataset
  // when the range ends past it (fallocate(2)'s zeroing and hole punching).
  // Unsupported unless the range is whole rows of a fixed-size dtype.
  Status FillRange(NodeId node, uint64_t offset, uint64_t len);
  // What close(2) checks: a fixed-size dataset holds whole rows, a string
  // dataset whole lines. InvalidArgument, and the last valid content back,
  // when it does not.
  Status Flush(NodeId node);
  Status Flush(std::string_view path);

  // `name` of user.h5.<name>: the text; the type stays what it was (a new
  // attribute is a string until SetAttributeType says otherwise).
  Status SetAttributeText(NodeId node, const std::string& name, const std::string& text);
  Status SetAttributeText(std::string_view path, const std::string& name, const std::string& text);
  Status SetAttributeType(NodeId node, const std::string& name, const std::string& type);
  Status SetAttributeType(std::string_view path, const std::string& name, const std::string& type);
  Status RemoveAttribute(NodeId node, const std::string& name);
  Status RemoveAttribute(std::string_view path, const std::string& name);

  // A dataset's metadata (user.vh5.<fact>). The shape resizes any dataset;
  // the others are for datasets new in this tree (Unsupported otherwise).
  // `dtype` in NumPy's spelling; `fill` as text in that dtype; `compression`
  // as "gzip:4,shuffle", "lzf", "none".
  Status SetDtype(NodeId node, const std::string& dtype);
  Status SetDtype(std::string_view path, const std::string& dtype);
  Status SetShape(NodeId node, const std::vector<uint64_t>& shape);
  Status SetShape(std::string_view path, const std::vector<uint64_t>& shape);
  Status SetChunks(NodeId node, const std::vector<uint64_t>& chunks);
  Status SetChunks(std::string_view path, const std::vector<uint64_t>& chunks);
  Status SetFillValue(NodeId node, const std::string& fill);
  Status SetFillValue(std::string_view path, const std::string& fill);
  Status SetCompression(NodeId node, const std::string& compression);
  Status SetCompression(std::string_view path, const std::string& compression);

  // Scratch pages in use in the tree's scratch file (64 KiB each): staged
  // datasets', and detached ones' until their last Release.
  uint64_t ScratchPages() const;

 private:
  explicit Staging(std::unique_ptr<StagingTree> tree);

  std::unique_ptr<StagingTree> tree_;
};

}  // namespace vh5
