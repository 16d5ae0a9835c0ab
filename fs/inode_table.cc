#include "inode_table.h"

namespace vh5fs {

std::string NodeId::Key() const {
  std::string key(1, static_cast<char>('0' + static_cast<int>(type)));
  key.push_back('\0');
  key += version;
  key.push_back('\0');
  key += path;
  return key;
}

InodeTable::InodeTable() {
  NodeId root;
  by_ino_[FUSE_ROOT_ID] = Entry{root, 1};
  by_key_[root.Key()] = FUSE_ROOT_ID;
}

fuse_ino_t InodeTable::Lookup(const NodeId& node) {
  std::string key = node.Key();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    ++by_ino_[it->second].nlookup;
    return it->second;
  }
  fuse_ino_t ino = next_ino_++;
  by_ino_[ino] = Entry{node, 1};
  by_key_.emplace(std::move(key), ino);
  return ino;
}

void InodeTable::Forget(fuse_ino_t ino, uint64_t count) {
  if (ino == FUSE_ROOT_ID) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return;
  if (it->second.nlookup > count) {
    it->second.nlookup -= count;
    return;
  }
  by_key_.erase(it->second.node.Key());
  by_ino_.erase(it);
}

std::optional<NodeId> InodeTable::Get(fuse_ino_t ino) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return std::nullopt;
  return it->second.node;
}

void InodeTable::RenameStaging(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix = from + "/";
  for (auto& [ino, entry] : by_ino_) {
    NodeId& node = entry.node;
    if (node.type != NodeType::kStagingNode) continue;
    if (node.path != from && node.path.rfind(prefix, 0) != 0) continue;
    by_key_.erase(node.Key());
    node.path = to + node.path.substr(from.size());
    // A node already known at the new path is replaced, as the kernel's dentry is.
    by_key_[node.Key()] = ino;
  }
}

}  // namespace vh5fs
