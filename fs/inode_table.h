#include "vh5/mutex.h"
// Inode numbers for the nodes the kernel knows about.
//
// A node is named by what it is (root, versions/, current, a path inside a
// version, or a staging node's id); its inode number lives while the kernel
// holds lookups on it: Lookup() counts up, Forget() counts down and drops it
// at zero, as the FUSE protocol requires. The root is permanent. A staging
// inode names the node, not its path: a rename changes nothing here.
//
// Locking: no other lock is taken while the table's own is held
// (Filesystem takes its staging mutex before calling in, never after).
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <sys/types.h>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vh5fs {

enum class NodeType {
  kRoot,         // the mount point
  kVersionsDir,  // versions/
  kCurrentLink,  // current -> versions/<name>
  kVersionNode,  // versions/<version>/<path>; path "" is the version directory
  kStagingNode,  // a node of staging/ by its id; vh5::Staging::kRootId is staging/ itself
  kZarrDir,      // zarr/
  kZarrCurrent,  // zarr/current -> <current version>
  kZarrNode,     // zarr/<version>/<path>[/<leaf>]
  kPrevDir,      // prev/
  kPrevLink,     // prev/<N> -> ../versions/<name>; path is N
  kAtDir,        // at/
  kAtLink,       // at/<TIME> -> ../versions/<name>; path is TIME as looked up
};

struct NodeId {
  NodeType type = NodeType::kRoot;
  std::string version;
  std::string path;  // kVersionNode, kZarrNode; the name of a kPrevLink or kAtLink
  // kVersionNode: the version's timestamp. Another process may delete a
  // version and commit another of the same name: that one's nodes are
  // other inodes, so that nothing the kernel cached of the first shows.
  // kStagingNode: the commits made through the mount before its lookup.
  std::string incarnation;
  uint64_t staging = 0;  // kStagingNode: the vh5::Staging node id
  // kZarrNode: "" for the group or dataset at `path` (a directory), else a
  // file in it: ".zgroup", ".zattrs", ".zarray" or a chunk key ("0.3").
  std::string leaf;

  // A unique key per node: type, version, incarnation, path (or staging
  // id) and leaf joined by NUL bytes.
  std::string Key() const;
  // kVersionNode: an inode number made of version, incarnation and path
  // alone (FNV-1a, top bit set: never a table number), the same on every
  // mount of the file; nullopt for other nodes.
  std::optional<ino_t> StableIno() const;
};

class InodeTable {
 public:
  InodeTable();

  // The inode of `node`, created if needed (`*created` says so), with one
  // more lookup counted.
  fuse_ino_t Lookup(const NodeId& node, bool* created = nullptr);
  // Drops `count` lookups; the inode is forgotten at zero, and its node
  // returned (for its owner to let go of).
  std::optional<NodeId> Forget(fuse_ino_t ino, uint64_t count);
  // The inode of `from`, if live, names `to` from now on.
  void Rename(const NodeId& from, const NodeId& to);
  // The node of a live inode.
  std::optional<NodeId> Get(fuse_ino_t ino) const;

  // Nodes inside committed versions (not a version's directory itself),
  // counted as created; some may have been forgotten since.
  size_t version_nodes() const;
  // The oldest of those beyond the newest `keep`, as (parent inode, name)
  // for the kernel to be asked to forget (inode_trimmer.h).
  std::vector<std::pair<fuse_ino_t, std::string>> Oldest(size_t keep);

 private:
  struct Entry {
    NodeId node;
    uint64_t nlookup = 0;
  };

  mutable vh5::Mutex mu_;
  std::unordered_map<fuse_ino_t, Entry> by_ino_ GUARDED_BY(mu_);
  std::unordered_map<std::string, fuse_ino_t> by_key_ GUARDED_BY(mu_);
  fuse_ino_t next_ino_ GUARDED_BY(mu_) = FUSE_ROOT_ID + 1;
  std::deque<fuse_ino_t> version_nodes_ GUARDED_BY(mu_);  // oldest first; never reused
};

}  // namespace vh5fs
