// Where a versioned file keeps what, as versioned-hdf5 lays it out
// (doc/format.md), and the files vh5fs keeps beside it: each path, name and
// attribute name of the format spelled here once.
//
//   /_version_data/                    kDataGroup
//     versions/                        kVersionsGroup: current_version, data_version
//       __first_version__, <name>/     a version: prev_version, timestamp, committed
//         <group>/<dataset>            virtual: raw_data (its chunk store), chunks
//     <dataset path>/                  DataGroupPath: one per dataset path ("a/b/c")
//       raw_data                       the chunks every version of it maps
//       hash_table                     SHA-256 of each chunk -> its slot in raw_data
//
// Beside FILE (dir/name): dir/.name.vh5-journal while a change is being
// made (journal.h), dir/.name.vh5-staging/ for a durable staging/, and
// dir/.name.vh5-staging.lock, whose flock says which process owns it.
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>

#include "vh5/status.h"

namespace vh5::layout {

inline constexpr char kDataGroup[] = "/_version_data";
inline constexpr char kVersionsGroup[] = "/_version_data/versions";
inline constexpr char kRawData[] = "raw_data";
inline constexpr char kHashTable[] = "hash_table";

// Attributes of the versions group.
inline constexpr char kCurrentVersionAttr[] = "current_version";
inline constexpr char kDataVersionAttr[] = "data_version";
// Attributes of a version's group.
inline constexpr char kPrevVersionAttr[] = "prev_version";
inline constexpr char kTimestampAttr[] = "timestamp";
inline constexpr char kCommittedAttr[] = "committed";
// Attributes of a version's dataset: its chunk store's path and the chunk
// shape; the format's own, never shown as the user's.
inline constexpr char kRawDataAttr[] = "raw_data";
inline constexpr char kChunksAttr[] = "chunks";

// The data_version this engine reads and writes. Files of 1 to 3 are read
// as they are and brought to 4 by their first commit
// (data_version_upgrade.h).
inline constexpr int kDataVersion = 4;

// "/_version_data/<dataset_path>": the group of a dataset path's chunks.
std::string DataGroupPath(std::string_view dataset_path);
// Its raw_data: "/_version_data/<dataset_path>/raw_data".
std::string RawDataPath(std::string_view dataset_path);
// "/_version_data/versions/<version>", and a path inside that version.
std::string VersionPath(std::string_view version);
std::string VersionPath(std::string_view version, std::string_view path);

// The versions group's data_version: 1 when absent, as in the oldest files.
// Any value: what a reader or writer accepts is its own to say.
Result<int64_t> ReadDataVersion(hid_t versions_group);

// The files beside `file_path`.
std::string JournalPath(const std::string& file_path);
std::string StagingStateDir(const std::string& file_path);
std::string StagingLockPath(const std::string& file_path);

}  // namespace vh5::layout
