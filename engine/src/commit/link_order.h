// The order in which a commit inserts many links into one new old-style
// group, so that its symbol table ends packed.
//
// An old-style group (the Python library's, and so every version group)
// keeps its links in symbol table nodes of 2K entries (K is the file's
// sym_leaf_k, 4 by default; 40 bytes an entry) under a B-tree keyed by name.
// HDF5 splits a full node in half, so links inserted in name order leave
// every node half full: 80 bytes of nodes a link, 800 KiB for a version of
// 10,000 datasets. Inserted in PackedOrder, every node but perhaps the last
// ends full.
#pragma once

#include <cstddef>
#include <vector>

namespace vh5 {

// Positions 0..count-1 of names in strcmp order, in the order to insert
// them: first the second half of every run of 2K names (each full node splits
// into halves that stay as they are), then the first halves (each lands in
// the node of the half that follows it, and fills it).
std::vector<size_t> PackedOrder(size_t count, unsigned leaf_k);

}  // namespace vh5
