#include "filesystem.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "errno_map.h"
#include "log.h"

namespace vh5fs {
namespace {

constexpr const char kVersionsName[] = "versions";
constexpr const char kCurrentName[] = "current";
constexpr blksize_t kPreferredIoSize = 1 << 20;  // cp and friends size their buffers by it

struct timespec FromNs(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    --ts.tv_sec;
  }
  return ts;
}

std::string JoinDims(const std::vector<uint64_t>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(dims[i]);
  }
  return out;
}

std::string ChildPath(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

void AppendAttributes(const vh5::Attributes& attrs,
                      std::vector<std::pair<std::string, std::string>>* out) {
  for (const vh5::Attribute& a : attrs) {
    out->emplace_back("user.h5." + a.name, a.text);
    if (!a.type.empty()) out->emplace_back("user.vh5.h5type." + a.name, a.type);
  }
}

}  // namespace

Filesystem::Filesystem(std::shared_ptr<vh5::VersionedFile> file, Options options)
    : file_(std::move(file)), options_(options), uid_(getuid()), gid_(getgid()) {
  struct stat st;
  if (::stat(file_->path().c_str(), &st) == 0) file_time_ = st.st_mtim;
}

int Filesystem::Fail(const vh5::Status& status) {
  int err = ErrnoFor(status);
  // A missing name is an ordinary answer, not an event worth a log line.
  if (err != ENOENT) LogError(status.ToString());
  return err;
}

int Filesystem::Resolve(fuse_ino_t ino, NodeId* node) {
  std::optional<NodeId> found = inodes_.Get(ino);
  if (!found) return ESTALE;
  *node = std::move(*found);
  return 0;
}

std::shared_ptr<const vh5::Version> Filesystem::Version(const std::string& name, int* err) {
  vh5::Result<std::shared_ptr<const vh5::Version>> version = file_->GetVersion(name);
  if (!version.ok()) {
    *err = Fail(version.status());
    return nullptr;
  }
  *err = 0;
  return *version;
}

int Filesystem::Stat(const NodeId& node, struct stat* st, double* timeout) {
  *st = {};
  st->st_uid = uid_;
  st->st_gid = gid_;
  st->st_blksize = kPreferredIoSize;
  st->st_atim = st->st_mtim = st->st_ctim = file_time_;
  *timeout = kTopLevelTimeout;
  switch (node.type) {
    case NodeType::kRoot:
      st->st_mode = S_IFDIR | (options_.read_only ? 0555 : 0755);
      st->st_nlink = 3;
      return 0;
    case NodeType::kVersionsDir:
      st->st_mode = S_IFDIR | 0555;
      st->st_nlink = 2 + file_->ListVersions().size();
      return 0;
    case NodeType::kCurrentLink: {
      std::optional<std::string> current = file_->CurrentVersion();
      if (!current) return ENOENT;
      st->st_mode = S_IFLNK | 0777;
      st->st_nlink = 1;
      st->st_size = static_cast<off_t>(std::string(kVersionsName).size() + 1 + current->size());
      return 0;
    }
    case NodeType::kVersionNode:
      break;
  }
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node.version, &err);
  if (!version) return err;
  *timeout = kImmutableTimeout;
  if (version->info().timestamp_ns != 0)
    st->st_atim = st->st_mtim = st->st_ctim = FromNs(version->info().timestamp_ns);
  vh5::Result<vh5::NodeKind> kind = version->Kind(node.path);
  if (!kind.ok()) return Fail(kind.status());
  if (*kind == vh5::NodeKind::kGroup) {
    vh5::Result<std::vector<vh5::DirEntry>> children = version->List(node.path);
    if (!children.ok()) return Fail(children.status());
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2 + std::count_if(children->begin(), children->end(),
                                     [](const auto& e) { return e.kind == vh5::NodeKind::kGroup; });
    return 0;
  }
  vh5::Result<std::shared_ptr<const vh5::Dataset>> dataset = version->OpenDataset(node.path);
  if (!dataset.ok()) return Fail(dataset.status());
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>((*dataset)->size());
  st->st_blocks = (st->st_size + 511) / 512;
  return 0;
}

int Filesystem::DoLookup(fuse_ino_t parent_ino, const std::string& name, Entry* out) {
  NodeId parent;
  if (int err = Resolve(parent_ino, &parent)) return err;
  NodeId child;
  switch (parent.type) {
    case NodeType::kRoot:
      if (name == kVersionsName) {
        child.type = NodeType::kVersionsDir;
      } else if (name == kCurrentName) {
        child.type = NodeType::kCurrentLink;
      } else {
        return ENOENT;
      }
      break;
    case NodeType::kVersionsDir:
      child.type = NodeType::kVersionNode;
      child.version = name;
      if (!file_->GetVersionInfo(name).ok()) return ENOENT;
      break;
    case NodeType::kVersionNode:
      child.type = NodeType::kVersionNode;
      child.version = parent.version;
      child.path = ChildPath(parent.path, name);
      break;
    case NodeType::kCurrentLink:
      return ENOTDIR;
  }
  if (int err = Stat(child, &out->attr, &out->timeout)) return err;
  out->ino = inodes_.Lookup(child);
  out->attr.st_ino = out->ino;
  return 0;
}

int Filesystem::DoGetattr(fuse_ino_t ino, struct stat* out, double* timeout) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (int err = Stat(node, out, timeout)) return err;
  out->st_ino = ino;
  return 0;
}

int Filesystem::DoReadlink(fuse_ino_t ino, std::string* target) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kCurrentLink) return EINVAL;
  std::optional<std::string> current = file_->CurrentVersion();
  if (!current) return ENOENT;
  *target = std::string(kVersionsName) + "/" + *current;
  return 0;
}

int Filesystem::DoReaddir(fuse_ino_t ino, std::vector<DirItem>* items) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  // Inode numbers of entries are assigned at lookup; readdir only needs a
  // stable nonzero one (readdir(3) skips entries whose d_ino is 0).
  std::string parent_key = node.Key();
  auto add = [items, &parent_key](std::string name, mode_t mode) {
    DirItem item;
    item.attr.st_ino = std::hash<std::string>{}(parent_key + '/' + name) | 1;
    item.name = std::move(name);
    item.attr.st_mode = mode;
    items->push_back(std::move(item));
  };
  add(".", S_IFDIR);
  add("..", S_IFDIR);
  switch (node.type) {
    case NodeType::kRoot:
      add(kVersionsName, S_IFDIR);
      if (file_->CurrentVersion()) add(kCurrentName, S_IFLNK);
      return 0;
    case NodeType::kVersionsDir:
      for (const vh5::VersionInfo& info : file_->ListVersions()) add(info.name, S_IFDIR);
      return 0;
    case NodeType::kCurrentLink:
      return ENOTDIR;
    case NodeType::kVersionNode:
      break;
  }
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node.version, &err);
  if (!version) return err;
  vh5::Result<std::vector<vh5::DirEntry>> children = version->List(node.path);
  if (!children.ok()) return Fail(children.status());
  for (const vh5::DirEntry& e : *children)
    add(e.name, e.kind == vh5::NodeKind::kGroup ? S_IFDIR : S_IFREG);
  return 0;
}

int Filesystem::DoOpen(fuse_ino_t ino, int flags, OpenFile** out) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kVersionNode) return EISDIR;
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return EROFS;
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node.version, &err);
  if (!version) return err;
  vh5::Result<std::shared_ptr<const vh5::Dataset>> dataset = version->OpenDataset(node.path);
  if (!dataset.ok()) return Fail(dataset.status());
  *out = new OpenFile{*dataset};
  return 0;
}

int Filesystem::DoRead(const OpenFile& file, uint64_t offset, size_t size, std::vector<char>* buf,
                       size_t* n) {
  if (buf->size() < size) buf->resize(size);
  vh5::Result<size_t> read = file.dataset->Read(offset, size, buf->data());
  if (!read.ok()) return Fail(read.status());
  *n = *read;
  return 0;
}

int Filesystem::Xattrs(const NodeId& node, std::vector<std::pair<std::string, std::string>>* out) {
  if (node.type != NodeType::kVersionNode) return 0;
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node.version, &err);
  if (!version) return err;
  if (node.path.empty()) {
    out->emplace_back("user.vh5.timestamp", version->info().timestamp);
    out->emplace_back("user.vh5.prev_version", version->info().prev_version);
  }
  vh5::Result<vh5::NodeKind> kind = version->Kind(node.path);
  if (!kind.ok()) return Fail(kind.status());
  if (*kind == vh5::NodeKind::kGroup) {
    vh5::Result<vh5::Attributes> attrs = version->GetAttributes(node.path);
    if (!attrs.ok()) return Fail(attrs.status());
    AppendAttributes(*attrs, out);
    return 0;
  }
  vh5::Result<std::shared_ptr<const vh5::Dataset>> dataset = version->OpenDataset(node.path);
  if (!dataset.ok()) return Fail(dataset.status());
  const vh5::DatasetInfo& info = (*dataset)->info();
  out->emplace_back("user.vh5.dtype", info.dtype.numpy);
  out->emplace_back("user.vh5.shape", JoinDims(info.shape));
  out->emplace_back("user.vh5.chunks", JoinDims(info.chunks));
  if (!info.fill_text.empty()) out->emplace_back("user.vh5.fillvalue", info.fill_text);
  out->emplace_back("user.vh5.compression", info.compression);
  AppendAttributes(info.attrs, out);
  return 0;
}

int Filesystem::DoListxattr(fuse_ino_t ino, std::string* names) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  std::vector<std::pair<std::string, std::string>> xattrs;
  if (int err = Xattrs(node, &xattrs)) return err;
  for (const auto& [name, value] : xattrs) {
    *names += name;
    names->push_back('\0');
  }
  return 0;
}

int Filesystem::DoGetxattr(fuse_ino_t ino, const std::string& name, std::string* value) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  std::vector<std::pair<std::string, std::string>> xattrs;
  if (int err = Xattrs(node, &xattrs)) return err;
  for (auto& [n, v] : xattrs) {
    if (n == name) {
      *value = std::move(v);
      return 0;
    }
  }
  return ENODATA;
}

int Filesystem::DoChange(fuse_ino_t ino) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  return EROFS;
}

}  // namespace vh5fs
