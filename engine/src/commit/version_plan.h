// What a commit writes: a new version (vh5/writer.h), and for each of its
// datasets what it may keep of the dataset at the same path in the version
// it is based on (its prev_version). A version given through the public API
// keeps nothing it has not compared; staging (staging/), which knows what it
// changed, plans an untouched dataset as costing nothing and a changed one
// as costing its changed chunks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vh5/writer.h"

namespace vh5 {

class ChunkIndex;
class HashTableCache;

struct DatasetPlan {
  const NewDataset* dataset = nullptr;  // the caller's, alive during the commit
  enum class Keep {
    kNothing,  // every chunk hashed and looked up
    // The base's dataset unchanged but for the attributes: its mappings are
    // copied, no element read or hashed.
    kAll,
    // As kAll, and the attributes too: the base's dataset object itself,
    // linked into the new version (a second HDF5 hard link), nothing copied
    // or written. The Python library reads, copies and deletes versions of
    // such files (tests/interop_wide.py); its delete_versions gives each
    // remaining version its own object again.
    kObject,
    // The base's dataset has the same dtype, chunks and shape but perhaps
    // shape[0], and the content's bytes outside `dirty` equal the base's at
    // the same offsets: chunks no dirty range touches keep their mappings
    // unhashed; the others are compared with the base's chunk first.
    kCleanCells,
  };
  Keep keep = Keep::kNothing;
  std::vector<std::pair<uint64_t, uint64_t>> dirty;  // kCleanCells: [begin, end), sorted
};

struct VersionPlan {
  const NewVersion* version = nullptr;  // the caller's, alive during the commit
  std::vector<DatasetPlan> datasets;    // one per version->datasets, in order
  // Hash tables kept from this process's earlier commits, and for its next
  // ones (format/hash_table.h); the owner commits or aborts what it stages.
  HashTableCache* hash_tables = nullptr;
  // The chunk indexes of raw_data objects by path, as the file stands when
  // the commit begins (the readers' view): read again only where they grew.
  const std::map<std::string, ChunkIndex>* chunk_indexes = nullptr;
};

// The plan of a version that keeps nothing unchecked.
inline VersionPlan PlanAsGiven(const NewVersion& version) {
  VersionPlan plan{&version, {}};
  for (const NewDataset& d : version.datasets) {
    DatasetPlan p;
    p.dataset = &d;
    plan.datasets.push_back(std::move(p));
  }
  return plan;
}

}  // namespace vh5
