// Fingerprints of a version's groups and datasets read from the file's bytes
// (pread(2)), for the walk along prev_version that finds the version which
// last changed a node (VersionedFile::ChangedAtNs).
//
// Two nodes of two versions have the same fingerprint when a reader sees
// them alike: a dataset's datatype, shape, fill value, filters, attributes
// and mapping list (the encoded bytes, which versioned-hdf5 copies with an
// unchanged dataset and vh5fs encodes as HDF5 does); a group's attributes
// and its children's names and kinds. Attributes count by name, whatever
// their order in the header; variable-length values are read from the
// global heap. Encodings are compared as stored, so the same facts encoded
// differently count as a change, never the reverse.
//
// Opening each version through HDF5 for this costs ~60 us per dataset and
// version (90 s for 100 datasets over 2,000 versions); this reads only the
// headers, the symbol tables and the mapping lists. Whatever it does not
// read (links or attributes in fractal heaps, shared attribute types,
// variable-length members, a dataset that is not virtual) is Unsupported,
// for the caller to compare through HDF5; bytes that break the format are
// Corruption. Every read is bounded (object_header.h, symbol_table_check.h).
//
// Thread safety: none; one walk at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "format/file_bytes.h"
#include "format/heap_objects.h"
#include "format/symbol_table_check.h"
#include "vh5/status.h"

namespace vh5 {

class NodeFingerprints {
 public:
  // A fact's 16-byte hash (XXH3-128); a node's facts, sorted, hash to its own.
  using Digest = std::array<uint64_t, 2>;

  // `internal_k` and `leaf_k`: the file's group B-tree sizes (H5Pget_sym_k).
  NodeFingerprints(const FileBytes& file, unsigned internal_k, unsigned leaf_k);
  ~NodeFingerprints();

  // The fingerprint of the node at `path` ("a/b"; "" for the group itself)
  // below the group whose header is at `group`: 'g' or 'd', then 14 bytes
  // of the node's digest (short enough for std::string to hold without
  // allocating). nullopt when no chain of hard links leads there.
  Result<std::optional<std::string>> Of(uint64_t group, const std::string& path);

  // Forgets the objects read so far (they stay valid while the file does
  // not change, but a walk moves on to other versions' objects). Their
  // buffers are kept for the next ones.
  void Forget();

 private:
  struct Node;
  static constexpr size_t kFingerprintSize = 15;
  Result<Node*> Load(uint64_t address);
  // The node read since Forget from `address`, or nullptr.
  Node* Find(uint64_t address) const;
  void Index(Node* node);
  Result<std::string> Fingerprint(Node* node);
  // What a reader sees of a dataset, its attributes aside: a digest per fact.
  Status DatasetDigests(const Node& node, std::vector<Digest>* facts);
  Result<Digest> AttributeDigest(std::span<const uint8_t> message);
  // What CheckAttribute finds of an attribute message's bytes before its
  // value (name, datatype, dataspace): the same for a dataset's attributes
  // in every version, so checked once and kept by those bytes.
  struct AttributeShape {
    std::vector<uint8_t> prefix;  // the bytes before the value
    size_t value_bytes = 0;       // elements x element_size
    uint32_t element_size = 0;
    bool vlen = false;  // variable-length: each element a heap reference
    uint32_t vlen_base = 0;
  };
  static constexpr size_t kShapesKept = 4096;
  Result<const AttributeShape*> ShapeOf(std::span<const uint8_t> message);

  const FileBytes& file_;
  unsigned internal_k_, leaf_k_;
  // Nodes by header address: the first used_ of pool_ were read since
  // Forget; slots_ finds them (open addressing, a power-of-two size).
  std::vector<std::unique_ptr<Node>> pool_;
  size_t used_ = 0;
  std::vector<Node*> slots_;
  std::vector<Digest> facts_;  // Fingerprint's, kept for its buffer
  std::vector<Digest> parts_;  // AttributeDigest's
  GlobalHeapObjects heap_;     // mapping lists, attributes' variable-length values
  std::unordered_map<uint64_t, AttributeShape> shapes_;  // by XXH3-64 of the prefix
};

}  // namespace vh5
