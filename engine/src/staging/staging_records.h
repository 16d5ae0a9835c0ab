// The records of a durable staging's log (doc/staging.md): what each says,
// and its payload bytes. Records describe the state a change left behind
// (a node placed, removed or moved; a node's attributes; a dataset's
// metadata and page table as of its last close), so that replaying them in
// order over the base version rebuilds the staging tree exactly.
//
// Payloads are sequences of LEB128 varints and strings (a varint length,
// then the bytes). Decoding checks every length against what is left.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

enum class RecordType : uint8_t {
  kHeader = 1,
  kPlace = 2,
  kRemove = 3,
  kMove = 4,
  kAttributes = 5,
  kDataset = 6,
  kSettings = 7,
  kCommitting = 8,
  kSession = 9,
  kSynced = 10,
};

// The first record of every log.
struct HeaderRecord {
  static constexpr uint64_t kFormat = 1;
  std::string base;            // the base version's name (kFirstVersionName: none)
  std::string base_timestamp;  // its timestamp: a version deleted and made again is another
  bool explicit_tree = false;  // false: the tree starts as the base's; true: empty, then kPlace
};

// A node put at `path` (its parent exists): a new group or dataset, or (in
// a snapshot) a node of the base known there as `origin`.
struct PlaceRecord {
  std::string path;
  NodeKind kind = NodeKind::kGroup;
  bool from_base = false;
  std::string origin;
};

// kRemove: `from` only; kMove: `from` to `to`, replacing what `to` held.
struct PathRecord {
  std::string from;
  std::string to;
};

struct AttributesRecord {
  std::string path;
  Attributes attrs;
};

// A run of page-table entries: entry `first + i` is `state + i * step`.
struct PageRun {
  uint64_t first = 0;
  uint64_t count = 0;
  uint64_t state = 0;
  uint64_t step = 0;  // 0 or 1
};

// A dataset's page table as of its last close (staged_content.h).
struct ContentRecord {
  enum class Origin : uint8_t {
    kSame = 0,    // the content the node has: runs change it
    kOnBase = 1,  // a new content over the node's base dataset, then runs
    kEmpty = 2,   // a new content with no base, then runs
  };
  Origin origin = Origin::kSame;
  bool compare_with_base = false;
  uint64_t size = 0;
  std::vector<PageRun> runs;
};

struct DatasetRecord {
  std::string path;
  DatasetInfo info;  // attrs are not part of it (kAttributes)
  bool is_new = false;
  bool auto_chunks = false;
  bool aligned_with_base = false;
  std::optional<ContentRecord> content;
  uint64_t explicit_bits = 0;  // StagingTree::Explicit: metadata the user set
};

struct SettingsRecord {
  std::string timestamp;  // user.vh5.timestamp; empty: the time of the commit
  bool make_current = true;
};

// "Committing as `name` with `timestamp`" before a commit; empty `name`:
// that commit failed. The version of that name, prev_version the base and
// that timestamp is this state committed.
struct CommittingRecord {
  std::string name;
  std::string timestamp;
};

// The writer of the records that follow: a process running since the
// machine's boot `boot_id` (/proc/sys/kernel/random/boot_id).
struct SessionRecord {
  std::string boot_id;
};

// kSynced (no payload): every record before it, and every scratch page those
// records name, had been fdatasync'ed when it was written. Records after the
// last one are in the kernel's cache only: they survive a kill of the
// process, not a crash of the machine (doc/staging.md).

std::string Encode(const HeaderRecord& r);
std::string Encode(const PlaceRecord& r);
std::string Encode(const PathRecord& r);
std::string Encode(const AttributesRecord& r);
std::string Encode(const DatasetRecord& r);
std::string Encode(const SettingsRecord& r);
std::string Encode(const CommittingRecord& r);
std::string Encode(const SessionRecord& r);

// Corruption when the payload is not a whole, well-formed record.
Status Decode(std::string_view payload, HeaderRecord* r);
Status Decode(std::string_view payload, PlaceRecord* r);
Status Decode(std::string_view payload, PathRecord* r);
Status Decode(std::string_view payload, AttributesRecord* r);
Status Decode(std::string_view payload, DatasetRecord* r);
Status Decode(std::string_view payload, SettingsRecord* r);
Status Decode(std::string_view payload, CommittingRecord* r);
Status Decode(std::string_view payload, SessionRecord* r);

}  // namespace vh5
