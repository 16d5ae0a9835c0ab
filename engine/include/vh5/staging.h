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

class ScratchFile;

class Staging {
 public:
  // A staging tree mirroring `base` (nullptr: an empty tree). Written pages
  // spill into an unnamed file in `scratch_dir` (the versioned file's
  // directory; empty: the working directory).
  explicit Staging(std::shared_ptr<const Version> base, std::string scratch_dir = "");
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  // The base version's name, or kFirstVersionName for an empty base.
  const std::string& base_name() const { return base_name_; }
  bool HasChanges() const { return changed_; }

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

  // The staged tree as a version to commit. Its datasets read their content
  // from this tree, which must not change until the commit is done.
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

  std::shared_ptr<const Version> base_;
  std::shared_ptr<ScratchFile> scratch_;
  std::string base_name_;
  std::unique_ptr<Node> root_;
  bool changed_ = false;
};

}  // namespace vh5
