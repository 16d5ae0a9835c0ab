#include "format/symbol_table_check.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "util/byte_decoder.h"

namespace vh5 {
namespace {

constexpr int kMaxDepth = 64;
constexpr uint64_t kFreeNull = 1;  // H5HL_FREE_NULL: the end of the free list
constexpr uint64_t kMaxHeapBytes = uint64_t{1} << 30;

Status Bad(const std::string& what) { return Status::Corruption("group symbol table: " + what); }

class Walker {
 public:
  // `links`, if given, receives the hard links met.
  Walker(const FileBytes& file, unsigned internal_k, unsigned leaf_k,
         std::vector<SymbolLink>* links = nullptr)
      : file_(file), internal_k_(internal_k), leaf_k_(leaf_k), links_(links) {}

  Status ReadHeap(uint64_t address) {
    size_t len = file_.len_size();
    std::vector<uint8_t> prefix;
    VH5_RETURN_IF_ERROR(file_.Read(address, 8 + 2 * len + file_.addr_size(), &prefix));
    if (std::memcmp(prefix.data(), "HEAP", 4) != 0 || prefix[4] != 0) return Bad("bad local heap");
    uint64_t size = LoadLe(prefix.data() + 8, len);
    uint64_t free = LoadLe(prefix.data() + 8 + len, len);
    uint64_t data = LoadLe(prefix.data() + 8 + 2 * len, file_.addr_size());
    if (size > kMaxHeapBytes) return Bad("a local heap of " + std::to_string(size) + " bytes");
    VH5_RETURN_IF_ERROR(file_.Read(data, size, &heap_));
    // The free list: every block inside the heap, and no block twice.
    std::unordered_set<uint64_t> seen;
    for (uint64_t block = free; block != kFreeNull;) {
      if (block >= size || size - block < 2 * len || !seen.insert(block).second)
        return Bad("a bad local heap free list");
      uint64_t next = LoadLe(heap_.data() + block, len);
      uint64_t block_size = LoadLe(heap_.data() + block + len, len);
      if (next == 0 || block_size > size - block) return Bad("a bad local heap free list");
      block = next;
    }
    return Status::OK();
  }

  // A name at `offset` of the heap, terminated inside it.
  Status Name(uint64_t offset) const {
    if (offset >= heap_.size() ||
        std::memchr(heap_.data() + offset, 0, heap_.size() - offset) == nullptr)
      return Bad("a name outside its local heap");
    return Status::OK();
  }

  // The tree whose root node is at `address`.
  Status Walk(uint64_t address) {
    VH5_RETURN_IF_ERROR(Tree(address, 0, -1));
    // Symbol nodes lead nowhere: met twice is found once all are met.
    std::sort(symbol_nodes_.begin(), symbol_nodes_.end());
    if (std::adjacent_find(symbol_nodes_.begin(), symbol_nodes_.end()) != symbol_nodes_.end())
      return Bad("a symbol node twice in the tree");
    for (uint64_t at : symbol_nodes_)
      if (seen_.count(at)) return Bad("a symbol node that is also a B-tree node");
    return Status::OK();
  }

 private:
  Status Tree(uint64_t address, int depth, int expect_level) {
    if (depth > kMaxDepth || !seen_.insert(address).second) return Bad("a B-tree that is no tree");
    size_t addr = file_.addr_size(), len = file_.len_size();
    uint64_t header = 8 + 2 * addr;
    uint64_t entries_max = 2 * uint64_t{internal_k_};
    std::vector<uint8_t> node;
    VH5_RETURN_IF_ERROR(file_.Read(address, header, &node));
    if (std::memcmp(node.data(), "TREE", 4) != 0 || node[4] != 0) return Bad("bad B-tree node");
    int level = node[5];
    uint64_t entries = LoadLe(node.data() + 6, 2);
    if (entries > entries_max)
      return Bad("a B-tree node of " + std::to_string(entries) + " entries");
    if (expect_level >= 0 && level != expect_level) return Bad("a B-tree of uneven levels");
    VH5_RETURN_IF_ERROR(file_.Read(address + header, entries * (len + addr) + len, &node));
    for (uint64_t i = 0; i <= entries; ++i)
      VH5_RETURN_IF_ERROR(Name(LoadLe(&node[i * (len + addr)], len)));
    for (uint64_t i = 0; i < entries; ++i) {
      uint64_t child = LoadLe(&node[i * (len + addr) + len], addr);
      if (level > 0) {
        VH5_RETURN_IF_ERROR(Tree(child, depth + 1, level - 1));
      } else {
        VH5_RETURN_IF_ERROR(SymbolNode(child));
      }
    }
    return Status::OK();
  }

  Status SymbolNode(uint64_t address) {
    symbol_nodes_.push_back(address);
    size_t addr = file_.addr_size(), len = file_.len_size();
    uint64_t entry = len + addr + 4 + 4 + 16;
    std::vector<uint8_t>& node = symbol_node_;
    VH5_RETURN_IF_ERROR(file_.Read(address, 8, &node));
    if (std::memcmp(node.data(), "SNOD", 4) != 0 || node[4] != 1) return Bad("bad symbol node");
    uint64_t symbols = LoadLe(node.data() + 6, 2);
    if (symbols > 2 * uint64_t{leaf_k_})
      return Bad("a symbol node of " + std::to_string(symbols) + " entries");
    VH5_RETURN_IF_ERROR(file_.Read(address + 8, symbols * entry, &node));
    for (uint64_t i = 0; i < symbols; ++i) {
      const uint8_t* e = node.data() + i * entry;
      VH5_RETURN_IF_ERROR(Name(LoadLe(e, len)));
      uint32_t cache = static_cast<uint32_t>(LoadLe(e + len + addr, 4));
      if (cache > 2) return Bad("a symbol table entry of cache type " + std::to_string(cache));
      if (cache == 2) {
        VH5_RETURN_IF_ERROR(Name(LoadLe(e + len + addr + 8, 4)));  // a soft link's value
      } else if (links_) {
        links_->push_back(SymbolLink{reinterpret_cast<const char*>(heap_.data() + LoadLe(e, len)),
                                     LoadLe(e + len, addr)});
      }
    }
    return Status::OK();
  }

  const FileBytes& file_;
  unsigned internal_k_, leaf_k_;
  std::vector<SymbolLink>* links_;
  std::vector<uint8_t> heap_;
  std::unordered_set<uint64_t> seen_;   // B-tree nodes
  std::vector<uint64_t> symbol_nodes_;  // met so far
  std::vector<uint8_t> symbol_node_;    // the one read last, its buffer kept
};

}  // namespace

Status CheckSymbolTable(const FileBytes& file, uint64_t btree, uint64_t heap, unsigned internal_k,
                        unsigned leaf_k) {
  if (internal_k == 0 || leaf_k == 0) return Bad("B-tree sizes of 0");
  Walker walker(file, internal_k, leaf_k);
  VH5_RETURN_IF_ERROR(walker.ReadHeap(heap));
  return walker.Walk(btree);
}

Status ReadSymbolTable(const FileBytes& file, uint64_t btree, uint64_t heap, unsigned internal_k,
                       unsigned leaf_k, std::vector<SymbolLink>* links) {
  if (internal_k == 0 || leaf_k == 0) return Bad("B-tree sizes of 0");
  Walker walker(file, internal_k, leaf_k, links);
  VH5_RETURN_IF_ERROR(walker.ReadHeap(heap));
  return walker.Walk(btree);
}

}  // namespace vh5
