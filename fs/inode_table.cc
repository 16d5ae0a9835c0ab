#include "inode_table.h"

namespace vh5fs {

std::string NodeId::Key() const {
  std::string key(1, static_cast<char>('0' + static_cast<int>(type)));
  key.push_back('\0');
  key += version;
  key.push_back('\0');
  key += incarnation;
  key.push_back('\0');
  key += type == NodeType::kStagingNode ? std::to_string(staging) : path;
  if (type == NodeType::kZarrNode) {
    key.push_back('\0');
    key += leaf;
  }
  return key;
}

std::optional<ino_t> NodeId::StableIno() const {
  if (type != NodeType::kVersionNode) return std::nullopt;
  uint64_t hash = 14695981039346656037ULL;
  for (const std::string* part : {&version, &incarnation, &path}) {
    for (unsigned char c : *part) {
      hash ^= c;
      hash *= 1099511628211ULL;
    }
    hash ^= 0xff;  // a separator no name holds (names are UTF-8 without NUL)
    hash *= 1099511628211ULL;
  }
  return static_cast<ino_t>(hash | (uint64_t{1} << 63));
}

InodeTable::InodeTable() {
  NodeId root;
  by_ino_[FUSE_ROOT_ID] = Entry{root, 1};
  by_key_[root.Key()] = FUSE_ROOT_ID;
}

fuse_ino_t InodeTable::Lookup(const NodeId& node, bool* created) {
  std::string key = node.Key();
  vh5::MutexLock lock(&mu_);
  auto it = by_key_.find(key);
  if (created) *created = it == by_key_.end();
  if (it != by_key_.end()) {
    ++by_ino_[it->second].nlookup;
    return it->second;
  }
  fuse_ino_t ino = next_ino_++;
  by_ino_[ino] = Entry{node, 1};
  if ((node.type == NodeType::kVersionNode || node.type == NodeType::kZarrNode) &&
      !node.path.empty())
    version_nodes_.push_back(ino);
  by_key_.emplace(std::move(key), ino);
  return ino;
}

std::optional<NodeId> InodeTable::Forget(fuse_ino_t ino, uint64_t count) {
  if (ino == FUSE_ROOT_ID) return std::nullopt;
  vh5::MutexLock lock(&mu_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return std::nullopt;
  if (it->second.nlookup > count) {
    it->second.nlookup -= count;
    return std::nullopt;
  }
  NodeId node = std::move(it->second.node);
  by_key_.erase(node.Key());
  by_ino_.erase(it);
  return node;
}

void InodeTable::Rename(const NodeId& from, const NodeId& to) {
  vh5::MutexLock lock(&mu_);
  auto it = by_key_.find(from.Key());
  if (it == by_key_.end() || by_key_.count(to.Key())) return;
  fuse_ino_t ino = it->second;
  by_key_.erase(it);
  by_key_.emplace(to.Key(), ino);
  by_ino_[ino].node = to;
}

std::optional<NodeId> InodeTable::Get(fuse_ino_t ino) const {
  vh5::MutexLock lock(&mu_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return std::nullopt;
  return it->second.node;
}

size_t InodeTable::version_nodes() const {
  vh5::MutexLock lock(&mu_);
  return version_nodes_.size();
}

std::vector<std::pair<fuse_ino_t, std::string>> InodeTable::Oldest(size_t keep) {
  std::vector<std::pair<fuse_ino_t, std::string>> out;
  vh5::MutexLock lock(&mu_);
  while (version_nodes_.size() > keep) {
    fuse_ino_t ino = version_nodes_.front();
    version_nodes_.pop_front();
    auto it = by_ino_.find(ino);
    if (it == by_ino_.end()) continue;  // forgotten already
    NodeId parent = it->second.node;
    std::string name;
    if (parent.type == NodeType::kZarrNode && !parent.leaf.empty()) {
      name = std::move(parent.leaf);
      parent.leaf.clear();
    } else {
      size_t slash = parent.path.rfind('/');
      name = slash == std::string::npos ? parent.path : parent.path.substr(slash + 1);
      parent.path = slash == std::string::npos ? "" : parent.path.substr(0, slash);
    }
    auto up = by_key_.find(parent.Key());
    if (up != by_key_.end()) out.emplace_back(up->second, std::move(name));
  }
  return out;
}

}  // namespace vh5fs
