// Walking the layout of a versioned file: the links of a group, and the
// dataset paths under /_version_data that hold a raw_data.
#pragma once

#include <hdf5.h>

#include <functional>
#include <string>
#include <vector>

#include "vh5/status.h"

namespace vh5 {

// How deep groups may nest below a version or /_version_data. Every walk
// recurses once per level; a hostile file of 30,000 nested groups (32 MB)
// overflowed the stack. The Python library's own walks are recursive too
// and stop near Python's limit of 1,000 frames.
constexpr int kMaxGroupDepth = 512;

// The names of the hard links in `group`, in name order.
std::vector<std::string> HardLinks(hid_t group);

// The same with the address of the object each names: a walk that takes
// the children by address needs no lookup of them by name.
struct HardLink {
  std::string name;
  haddr_t address;
};
Result<std::vector<HardLink>> AddressedHardLinks(hid_t group);

// The paths, relative to /_version_data, of the groups that hold a raw_data
// ("prices", "a/b/c"), found as the Python library's _walk finds them: the
// search stops at the first such group on each branch, and never enters
// /_version_data/versions. A group reached twice (a hard link back up the
// tree makes a cycle) is searched once; none deeper than kMaxGroupDepth.
std::vector<std::string> DataGroupPaths(hid_t file);

// Calls `visit` for every object below `group`, parents before children,
// each group's links in name order: `path` is relative to `group`
// ("a/b/c"), `parent` the group that holds the link `name`. `type` is
// H5O_TYPE_UNKNOWN for an object HDF5 cannot inspect. A group reached
// again (through a cycle, or a second hard link), or at kMaxGroupDepth, is
// visited but not entered; those are returned, each with why (the format
// never links a group twice, nor nests that deep).
using TreeVisitor = std::function<void(const std::string& path, hid_t parent,
                                       const std::string& name, H5O_type_t type)>;
struct NotEntered {
  std::string path;
  std::string why;
};
std::vector<NotEntered> VisitTree(hid_t group, const TreeVisitor& visit);

// Why a group was not entered: linked a second time, or nested too deep.
extern const char kLinkedAgain[];
extern const char kNestedTooDeep[];

}  // namespace vh5
