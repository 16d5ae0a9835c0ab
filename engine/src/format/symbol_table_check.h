// Old-style ("symbol table") groups, what h5py writes by default: a
// version-1 B-tree whose leaves are symbol nodes, and a local heap holding
// the link names. HDF5 1.10.8 takes a node's entry count, a name's heap
// offset and the heap's free list as they are; this walks the whole
// structure with every bound checked, before HDF5 does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/file_bytes.h"
#include "vh5/status.h"

namespace vh5 {

// `internal_k` and `leaf_k` are the file's group B-tree and symbol node
// sizes (H5Pget_sym_k): nodes hold at most 2K entries.
Status CheckSymbolTable(const FileBytes& file, uint64_t btree, uint64_t heap, unsigned internal_k,
                        unsigned leaf_k);
// The same walk, appending each hard link to `links`: its name and its
// object's address, in the B-tree's order (by name). Soft links are left out.
struct SymbolLink {
  std::string name;
  uint64_t address;
};
Status ReadSymbolTable(const FileBytes& file, uint64_t btree, uint64_t heap, unsigned internal_k,
                       unsigned leaf_k, std::vector<SymbolLink>* links);

}  // namespace vh5
