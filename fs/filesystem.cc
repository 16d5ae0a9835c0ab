#include "filesystem.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "errno_map.h"
#include "log.h"
#include "vh5/delete_versions.h"
#include "vh5/rename_version.h"
#include "vh5/shape.h"
#include "vh5/timestamp.h"
#include "vh5/writer.h"

namespace vh5fs {
namespace {

constexpr const char kVersionsName[] = "versions";
constexpr const char kCurrentName[] = "current";
constexpr const char kStagingName[] = "staging";
constexpr const char kZarrName[] = "zarr";
constexpr const char kPrevName[] = "prev";
constexpr const char kAtName[] = "at";
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

void AppendDatasetXattrs(const vh5::DatasetInfo& info,
                         std::vector<std::pair<std::string, std::string>>* out) {
  out->emplace_back("user.vh5.dtype", info.dtype.numpy);
  out->emplace_back("user.vh5.shape", vh5::DimsText(info.shape));
  out->emplace_back("user.vh5.chunks", vh5::DimsText(info.chunks));
  if (!info.fill_text.empty()) out->emplace_back("user.vh5.fillvalue", info.fill_text);
  out->emplace_back("user.vh5.compression", info.compression);
  AppendAttributes(info.attrs, out);
}

}  // namespace

Filesystem::Filesystem(std::shared_ptr<vh5::VersionedFile> file, Options options)
    : file_(std::move(file)), options_(options), uid_(getuid()), gid_(getgid()) {
  struct stat st;
  if (::stat(file_->path().c_str(), &st) == 0) file_time_ = st.st_mtim;
  staging_time_ = file_time_;
  if (options_.read_only) return;
  // Staged changes live beside the file, on the disk sized for it (unlike /tmp).
  std::string note;
  vh5::Result<std::unique_ptr<vh5::Staging>> staging = vh5::Staging::Open(*file_, &note);
  if (!note.empty()) LogError(note);
  if (!staging.ok() && staging.status().code() == vh5::Status::Code::kBusy) {
    // Another read-write mount owns the durable state: this one stages
    // beside the file too, but only for its own life.
    int err = 0;
    std::shared_ptr<const vh5::Version> base = CurrentVersion(&err);
    if (err == 0) {
      const std::string& path = file_->path();
      LogError(staging.status().message() + "; staging/ of this mount is not durable");
      staging_ = std::make_unique<vh5::Staging>(
          std::move(base),
          path.rfind('/') == std::string::npos ? "" : path.substr(0, path.rfind('/') + 1));
      return;
    }
  }
  if (!staging.ok()) {
    LogError("no staging/ for " + file_->path() + ": " + staging.status().ToString());
    options_.read_only = true;
    return;
  }
  staging_ = std::move(*staging);
}

Filesystem::~Filesystem() {
  vh5::MutexLock lock(&staging_mu_);
  if (!staging_) return;
  if (vh5::Status s = staging_->Sync(); !s.ok())
    LogError("staged changes of " + file_->path() + " may be lost: " + s.ToString());
}

std::shared_ptr<const vh5::Version> Filesystem::CurrentVersion(int* err) {
  *err = 0;
  std::optional<std::string> current = file_->CurrentVersion();
  if (!current) return nullptr;
  return Version(*current, err);
}

void Filesystem::Touch() { clock_gettime(CLOCK_REALTIME, &staging_time_); }

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

std::shared_ptr<const vh5::Version> Filesystem::Version(const NodeId& node, int* err) {
  std::string name = node.version;
  {
    // Renamed here: what the kernel cached under the old name (for a day)
    // reads the version under its new name.
    vh5::MutexLock lock(&renames_mu_);
    for (size_t steps = 0; steps <= renamed_.size(); ++steps) {
      auto it = renamed_.find(name + '\0' + node.incarnation);
      if (it == renamed_.end()) break;
      name = it->second;
    }
  }
  std::shared_ptr<const vh5::Version> version = Version(name, err);
  if (version && version->info().timestamp != node.incarnation) {
    // Deleted by another process, and another version took its name.
    *err = ESTALE;
    return nullptr;
  }
  return version;
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
      *timeout = kTopDirectoryTimeout;
      st->st_mode = S_IFDIR | (options_.read_only ? 0555 : 0755);
      st->st_nlink = (options_.read_only ? 5 : 6) + (options_.zarr ? 1 : 0);
      return 0;
    case NodeType::kZarrNode:
      *timeout = kImmutableTimeout;
      return StatZarr(node, st);
    case NodeType::kPrevDir:
    case NodeType::kAtDir:
      *timeout = kTopDirectoryTimeout;
      st->st_mode = S_IFDIR | 0555;
      st->st_nlink = 2;
      return 0;
    case NodeType::kVersionsDir:
    case NodeType::kZarrDir:
      // Every lookup below revalidates this directory: no per-version work
      // here (nlink 1: subdirectories not counted, as for version roots).
      *timeout = kTopDirectoryTimeout;
      st->st_mode = S_IFDIR | 0555;
      st->st_nlink = 1;
      // Changes with every commit, as a directory does when an entry is made.
      if (int64_t ns = NewestTimestampNs(); ns != 0)
        st->st_atim = st->st_mtim = st->st_ctim = FromNs(ns);
      return 0;
    case NodeType::kCurrentLink:
    case NodeType::kZarrCurrent:
    case NodeType::kPrevLink:
    case NodeType::kAtLink: {
      std::string target;
      if (int err = LinkTarget(node, &target)) return err;
      st->st_mode = S_IFLNK | 0777;
      st->st_nlink = 1;
      st->st_size = static_cast<off_t>(target.size());
      return 0;
    }
    case NodeType::kStagingNode: {
      vh5::MutexLock lock(&staging_mu_);
      if (!staging_) return ENOENT;
      return StatStaging(node.staging, st);
    }
    case NodeType::kVersionNode:
      break;
  }
  *timeout = kImmutableTimeout;
  if (node.path.empty()) {
    // A version's root: its metadata only, so that ls -l of 10,000 versions
    // walks no tree. nlink 1 says "subdirectories not counted", as btrfs
    // does; find(1) then looks into every directory.
    vh5::Result<vh5::VersionInfo> info = file_->GetVersionInfo(node.version);
    if (!info.ok()) return Fail(info.status());
    if (info->timestamp_ns != 0)
      st->st_atim = st->st_mtim = st->st_ctim = FromNs(info->timestamp_ns);
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 1;
    return 0;
  }
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node, &err);
  if (!version) return err;
  vh5::Result<vh5::NodeKind> kind = version->Kind(node.path);
  if (!kind.ok()) return Fail(kind.status());
  // Its own time (-o own_times): when it last changed along prev_version
  // (rsync, make and find -newer see what changed), else the version's.
  int64_t ns = version->info().timestamp_ns;
  if (options_.own_times) {
    vh5::Result<int64_t> changed = file_->ChangedAtNs(version->info().name, node.path);
    if (changed.ok()) {
      ns = *changed;
    } else {
      Fail(changed.status());
    }
  }
  if (ns != 0) st->st_atim = st->st_mtim = st->st_ctim = FromNs(ns);
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

int64_t Filesystem::NewestTimestampNs() {
  // The current version's, not the newest of all: that would read every
  // version's metadata (seconds for 10,000) on the first stat of versions/.
  // A commit that leaves current where it was (make_current 0) counts when
  // made through this mount.
  int64_t newest = newest_commit_ns_.load();
  if (std::optional<std::string> current = file_->CurrentVersion()) {
    if (vh5::Result<vh5::VersionInfo> info = file_->GetVersionInfo(*current); info.ok())
      newest = std::max(newest, info->timestamp_ns);
  }
  return newest;
}

int Filesystem::StatStaging(vh5::Staging::NodeId id, struct stat* st) {
  st->st_atim = st->st_mtim = st->st_ctim = staging_time_;
  vh5::Result<vh5::NodeKind> kind = staging_->Kind(id);
  if (!kind.ok()) return Fail(kind.status());
  // Removed (unlinked, replaced) while open: no name links to it.
  bool attached = staging_->Attached(id);
  if (*kind == vh5::NodeKind::kGroup) {
    vh5::Result<std::vector<vh5::DirEntry>> children = staging_->List(id);
    if (!children.ok()) return Fail(children.status());
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink =
        !attached ? 0 : 2 + std::count_if(children->begin(), children->end(), [](auto& e) {
                          return e.kind == vh5::NodeKind::kGroup;
                        });
    return 0;
  }
  vh5::Result<uint64_t> size = staging_->Size(id);
  if (!size.ok()) return Fail(size.status());
  st->st_mode = S_IFREG | 0644;
  st->st_nlink = attached ? 1 : 0;
  st->st_size = static_cast<off_t>(*size);
  st->st_blocks = (st->st_size + 511) / 512;
  return 0;
}

int Filesystem::DoLookup(fuse_ino_t parent_ino, const std::string& name, Entry* out) {
  NodeId parent;
  if (int err = Resolve(parent_ino, &parent)) return err;
  // As a disk filesystem answers: every call naming it fails so, not only
  // those that would make it.
  if (name.size() > NAME_MAX) return ENAMETOOLONG;
  uint64_t changes_seen = file_->foreign_changes();
  NodeId child;
  switch (parent.type) {
    case NodeType::kRoot:
      if (name == kVersionsName) {
        child.type = NodeType::kVersionsDir;
      } else if (name == kCurrentName) {
        child.type = NodeType::kCurrentLink;
      } else if (name == kZarrName && options_.zarr) {
        child.type = NodeType::kZarrDir;
      } else if (name == kPrevName) {
        child.type = NodeType::kPrevDir;
      } else if (name == kAtName) {
        child.type = NodeType::kAtDir;
      } else if (name == kStagingName && !options_.read_only) {
        vh5::MutexLock lock(&staging_mu_);
        return LookupStaging(vh5::Staging::kRootId, out);
      } else {
        return ENOENT;
      }
      break;
    case NodeType::kStagingNode: {
      vh5::MutexLock lock(&staging_mu_);
      vh5::Result<vh5::Staging::NodeId> id = staging_->Lookup(parent.staging, name);
      if (!id.ok()) return Fail(id.status());
      return LookupStaging(*id, out);
    }
    case NodeType::kZarrDir:
      if (name == kCurrentName) {
        child.type = NodeType::kZarrCurrent;
        break;
      }
      [[fallthrough]];
    case NodeType::kVersionsDir:
      child.type = parent.type == NodeType::kZarrDir ? NodeType::kZarrNode : NodeType::kVersionNode;
      child.version = name;
      if (!file_->GetVersionInfo(name).ok()) {
        // Committed elsewhere a moment ago? (Without leases, the watcher
        // only checks now and then.)
        if (vh5::Status s = file_->Refresh(); !s.ok()) Fail(s);
      }
      if (vh5::Result<vh5::VersionInfo> info = file_->GetVersionInfo(name); info.ok()) {
        child.incarnation = info->timestamp;
      } else {
        return ENOENT;
      }
      break;
    case NodeType::kVersionNode:
      child.type = NodeType::kVersionNode;
      child.version = parent.version;
      child.incarnation = parent.incarnation;
      child.path = ChildPath(parent.path, name);
      break;
    case NodeType::kZarrNode:
      if (int err = ZarrChild(parent, name, &child)) return err;
      break;
    case NodeType::kPrevDir:
    case NodeType::kAtDir:
      child.type = parent.type == NodeType::kPrevDir ? NodeType::kPrevLink : NodeType::kAtLink;
      child.path = name;
      break;
    case NodeType::kCurrentLink:
    case NodeType::kZarrCurrent:
    case NodeType::kPrevLink:
    case NodeType::kAtLink:
      return ENOTDIR;
  }
  if (int err = Stat(child, &out->attr, &out->timeout)) {
    // A name missing in a committed version stays missing: the kernel may
    // remember that as long as it remembers the names that are there.
    if (err != ENOENT ||
        (parent.type != NodeType::kVersionNode && parent.type != NodeType::kZarrNode))
      return err;
    *out = Entry{};
    out->entry_timeout = kImmutableTimeout;
    return 0;
  }
  // versions/ and current are always these inodes once they exist (their
  // attributes still change with commits): without this every path walked
  // through them, four per entry for ls -l, would ask again.
  bool fixed_name = child.type == NodeType::kVersionsDir || child.type == NodeType::kCurrentLink ||
                    child.type == NodeType::kZarrDir || child.type == NodeType::kZarrCurrent ||
                    child.type == NodeType::kPrevDir || child.type == NodeType::kAtDir;
  out->entry_timeout = fixed_name ? kImmutableTimeout : out->timeout;
  // Another process may delete a version: its name must stop resolving
  // (what is inside it stays cached, under its own inode). The kernel keeps
  // it only where it is told when that happens (TakeStaleNames).
  if (parent.type == NodeType::kVersionsDir || parent.type == NodeType::kZarrDir) {
    out->entry_timeout = kTopLevelTimeout;
    if (keep_names_.load() && !child.incarnation.empty()) {
      vh5::MutexLock lock(&kept_mu_);
      kept_names_[{parent_ino, name}] = child.incarnation;
      // A change absorbed since the version was looked up: its
      // notification may have come before this name was kept.
      if (file_->foreign_changes() == changes_seen) out->entry_timeout = kImmutableTimeout;
    }
  }
  out->ino = inodes_.Lookup(child);
  out->attr.st_ino = child.StableIno().value_or(out->ino);
  trimmer_.Poke();
  return 0;
}

void Filesystem::DoForget(fuse_ino_t ino, uint64_t count) {
  std::optional<NodeId> gone = inodes_.Forget(ino, count);
  if (!gone || gone->type != NodeType::kStagingNode) return;
  // The kernel knows the node no more: a removed one may die now.
  vh5::MutexLock lock(&staging_mu_);
  if (staging_) staging_->Release(gone->staging);
}

int Filesystem::DoGetattr(fuse_ino_t ino, struct stat* out, double* timeout) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (int err = Stat(node, out, timeout)) return err;
  out->st_ino = node.StableIno().value_or(ino);
  return 0;
}

int Filesystem::DoReadlink(fuse_ino_t ino, std::string* target) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kCurrentLink && node.type != NodeType::kZarrCurrent &&
      node.type != NodeType::kPrevLink && node.type != NodeType::kAtLink)
    return EINVAL;
  return LinkTarget(node, target);
}

void Filesystem::KeepVersionNames() { keep_names_.store(true); }

std::vector<std::pair<fuse_ino_t, std::string>> Filesystem::TakeStaleNames() {
  std::map<std::pair<fuse_ino_t, std::string>, std::string> kept;
  {
    vh5::MutexLock lock(&kept_mu_);
    kept = kept_names_;
  }
  std::vector<std::pair<fuse_ino_t, std::string>> stale;
  for (const auto& [entry, incarnation] : kept) {
    vh5::Result<vh5::VersionInfo> info = file_->GetVersionInfo(entry.second);
    if (!info.ok() || info->timestamp != incarnation) stale.push_back(entry);
  }
  vh5::MutexLock lock(&kept_mu_);
  for (const auto& entry : stale) {
    auto it = kept_names_.find(entry);
    // Kept again meanwhile, for the version now under that name: stays.
    if (it != kept_names_.end() && it->second == kept[entry]) kept_names_.erase(it);
  }
  return stale;
}

int Filesystem::LinkTarget(const NodeId& link, std::string* target) {
  if (link.type == NodeType::kPrevLink || link.type == NodeType::kAtLink) {
    // prev/N and at/TIME -> ../versions/NAME, beside them.
    std::string version;
    if (int err = HistoryVersion(link, &version)) return err;
    *target = std::string("../") + kVersionsName + "/" + version;
    return 0;
  }
  std::optional<std::string> current = file_->CurrentVersion();
  if (!current) return ENOENT;
  // current -> versions/NAME; zarr/current -> NAME, beside it.
  *target = link.type == NodeType::kZarrCurrent ? *current : kVersionsName + ("/" + *current);
  return 0;
}

int Filesystem::DoOpendir(fuse_ino_t ino, OpenDir** out) {
  struct stat st;
  double timeout = 0;
  if (int err = DoGetattr(ino, &st, &timeout)) return err;
  if (!S_ISDIR(st.st_mode)) return ENOTDIR;
  auto dir = std::make_unique<OpenDir>();
  dir->immutable = timeout >= kImmutableTimeout;
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  dir->with_attributes = node.type == NodeType::kVersionsDir;
  if (int err = DoReaddir(ino, &dir->items)) return err;
  *out = dir.release();
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
      if (!options_.read_only) add(kStagingName, S_IFDIR);
      if (options_.zarr) add(kZarrName, S_IFDIR);
      add(kPrevName, S_IFDIR);
      add(kAtName, S_IFDIR);
      return 0;
    case NodeType::kPrevDir:
    case NodeType::kAtDir: {
      std::vector<std::string> names;
      ListHistory(node, &names);
      for (std::string& name : names) add(std::move(name), S_IFLNK);
      return 0;
    }
    case NodeType::kZarrDir:
      if (vh5::Status s = file_->Refresh(); !s.ok()) Fail(s);
      if (file_->CurrentVersion()) add(kCurrentName, S_IFLNK);
      for (const std::string& name : file_->ListVersionNames())
        if (name != kCurrentName) add(name, S_IFDIR);
      return 0;
    case NodeType::kZarrNode: {
      std::vector<std::pair<std::string, bool>> entries;
      if (int err = ListZarr(node, &entries)) return err;
      for (auto& [name, dir] : entries) add(std::move(name), dir ? S_IFDIR : S_IFREG);
      return 0;
    }
    case NodeType::kStagingNode: {
      vh5::MutexLock lock(&staging_mu_);
      vh5::Result<std::vector<vh5::DirEntry>> children = staging_->List(node.staging);
      if (!children.ok()) return Fail(children.status());
      for (const vh5::DirEntry& e : *children)
        add(e.name, e.kind == vh5::NodeKind::kGroup ? S_IFDIR : S_IFREG);
      return 0;
    }
    case NodeType::kVersionsDir:
      if (vh5::Status s = file_->Refresh(); !s.ok()) Fail(s);
      for (const std::string& name : file_->ListVersionNames()) add(name, S_IFDIR);
      return 0;
    case NodeType::kCurrentLink:
    case NodeType::kZarrCurrent:
    case NodeType::kPrevLink:
    case NodeType::kAtLink:
      return ENOTDIR;
    case NodeType::kVersionNode:
      break;
  }
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node, &err);
  if (!version) return err;
  vh5::Result<std::vector<vh5::DirEntry>> children = version->List(node.path);
  if (!children.ok()) return Fail(children.status());
  for (const vh5::DirEntry& e : *children) {
    add(e.name, e.kind == vh5::NodeKind::kGroup ? S_IFDIR : S_IFREG);
    // The st_ino that a stat of the entry gives (ls -i reads d_ino).
    NodeId child{NodeType::kVersionNode,
                 node.version,
                 ChildPath(node.path, e.name),
                 node.incarnation,
                 0,
                 ""};
    items->back().attr.st_ino = *child.StableIno();
  }
  return 0;
}

int Filesystem::DoOpen(fuse_ino_t ino, int flags, OpenFile** out) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type == NodeType::kStagingNode) {
    vh5::MutexLock lock(&staging_mu_);
    vh5::Result<vh5::NodeKind> kind = staging_->Kind(node.staging);
    if (!kind.ok()) return Fail(kind.status());
    if (*kind != vh5::NodeKind::kDataset) return EISDIR;
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
      if (vh5::Status s = staging_->Truncate(node.staging, 0); !s.ok()) return Fail(s);
      Touch();
    }
    *out = new OpenFile{nullptr, node.staging, nullptr};
    return 0;
  }
  if (node.type == NodeType::kZarrNode) {
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return EROFS;
    return OpenZarr(node, out);
  }
  if (node.type != NodeType::kVersionNode) return EISDIR;
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return EROFS;
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node, &err);
  if (!version) return err;
  vh5::Result<std::shared_ptr<const vh5::Dataset>> dataset = version->OpenDataset(node.path);
  if (!dataset.ok()) return Fail(dataset.status());
  *out = new OpenFile{*dataset, 0, nullptr};
  return 0;
}

int Filesystem::DoRead(const OpenFile& file, uint64_t offset, size_t size, std::vector<char>* buf,
                       size_t* n) {
  if (buf->size() < size) buf->resize(size);
  if (file.text) {
    *n = offset < file.text->size() ? std::min<uint64_t>(size, file.text->size() - offset) : 0;
    if (*n > 0) std::memcpy(buf->data(), file.text->data() + offset, *n);
    return 0;
  }
  if (!file.dataset) {
    vh5::MutexLock lock(&staging_mu_);
    vh5::Result<size_t> read = staging_->Read(file.staging_node, offset, size, buf->data());
    if (!read.ok()) return Fail(read.status());
    *n = *read;
    return 0;
  }
  vh5::Result<size_t> read = file.dataset->Read(offset, size, buf->data());
  if (!read.ok()) return Fail(read.status());
  *n = *read;
  return 0;
}

int Filesystem::DoLocate(const OpenFile& file, uint64_t offset, size_t size,
                         std::vector<vh5::Dataset::Run>* runs, vh5::ReadHold* hold) {
  runs->clear();
  hold->Release();
  if (!file.dataset) return 0;
  if (vh5::Status s = file.dataset->Locate(offset, size, runs, hold); !s.ok()) return Fail(s);
  return 0;
}

int Filesystem::DoReadOtherRuns(const OpenFile& file, uint64_t offset,
                                const std::vector<vh5::Dataset::Run>& runs,
                                std::vector<char>* buf) {
  buf->clear();
  uint64_t at = offset;
  for (const vh5::Dataset::Run& run : runs) {
    if (run.file_offset < 0) {
      size_t from = buf->size();
      buf->resize(from + run.length);
      vh5::Result<size_t> n = file.dataset->Read(at, run.length, buf->data() + from);
      if (!n.ok()) return Fail(n.status());
    }
    at += run.length;
  }
  return 0;
}

int Filesystem::Xattrs(const NodeId& node, std::vector<std::pair<std::string, std::string>>* out) {
  if (node.type == NodeType::kStagingNode) {
    vh5::MutexLock lock(&staging_mu_);
    if (node.staging == vh5::Staging::kRootId) {
      out->emplace_back("user.vh5.prev_version", staging_->base_name());
      if (!staging_->commit_timestamp().empty())
        out->emplace_back("user.vh5.timestamp", staging_->commit_timestamp());
      out->emplace_back("user.vh5.make_current", staging_->make_current() ? "1" : "0");
      if (!commit_error_.empty()) out->emplace_back("user.vh5.commit_error", commit_error_);
    }
    vh5::Result<vh5::NodeKind> kind = staging_->Kind(node.staging);
    if (!kind.ok()) return Fail(kind.status());
    if (*kind == vh5::NodeKind::kDataset) {
      vh5::Result<vh5::DatasetInfo> info = staging_->Info(node.staging);
      if (!info.ok()) return Fail(info.status());
      AppendDatasetXattrs(*info, out);
      return 0;
    }
    vh5::Result<vh5::Attributes> attrs = staging_->GetAttributes(node.staging);
    if (!attrs.ok()) return Fail(attrs.status());
    AppendAttributes(*attrs, out);
    return 0;
  }
  if (node.type != NodeType::kVersionNode) return 0;
  int err = 0;
  std::shared_ptr<const vh5::Version> version = Version(node, &err);
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
  AppendDatasetXattrs((*dataset)->info(), out);
  return 0;
}

int Filesystem::DoListxattr(fuse_ino_t ino, std::string* names) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  std::vector<std::pair<std::string, std::string>> xattrs;
  if (int err = Xattrs(node, &xattrs)) return err;
  // A version's own metadata is read by name, not listed: a copy of a
  // version (cp -a, rsync -X, tar --xattrs) must not carry it onto staging/,
  // where the same names rebase and set the next commit's timestamp.
  bool version_root = node.type == NodeType::kVersionNode && node.path.empty();
  for (const auto& [name, value] : xattrs) {
    if (version_root && (name == "user.vh5.timestamp" || name == "user.vh5.prev_version")) continue;
    *names += name;
    names->push_back('\0');
  }
  return 0;
}

int Filesystem::DoGetxattr(fuse_ino_t ino, const std::string& name, std::string* value) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  // ls -l asks every entry for ACLs and SELinux labels, and the kernel asks
  // for security.capability before every write: none exists here, and
  // answering must not load a version's tree.
  if (name.rfind("user.", 0) != 0) return ENODATA;
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

int Filesystem::DoLink(fuse_ino_t parent, const std::string& name) {
  vh5::Staging::NodeId parent_id = 0;
  if (int err = StagingParent(parent, name, &parent_id)) return err;
  return EPERM;  // only groups and datasets live in staging/
}

int Filesystem::DoFallocate(fuse_ino_t ino, const OpenFile& file, int mode, off_t offset,
                            off_t length) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kStagingNode || file.dataset) return EROFS;
  if (offset < 0 || length <= 0) return EINVAL;
  bool keep_size = mode & FALLOC_FL_KEEP_SIZE;
  mode &= ~FALLOC_FL_KEEP_SIZE;
  // Collapsing or inserting moves rows; the rest is about disk blocks.
  if (mode != 0 && mode != FALLOC_FL_PUNCH_HOLE && mode != FALLOC_FL_ZERO_RANGE) return EOPNOTSUPP;
  if (mode == FALLOC_FL_PUNCH_HOLE && !keep_size) return EOPNOTSUPP;
  uint64_t begin = static_cast<uint64_t>(offset);
  uint64_t end = begin + static_cast<uint64_t>(length);
  vh5::MutexLock lock(&staging_mu_);
  vh5::Result<uint64_t> size = staging_->Size(file.staging_node);
  if (!size.ok()) return Fail(size.status());
  vh5::Status s;
  if (mode == 0) {
    // Space is never reserved ahead: growing is all there is to do, and
    // new rows read as the fill value, as after a truncate.
    if (keep_size || end <= *size) return 0;
    vh5::Result<vh5::DatasetInfo> info = staging_->Info(file.staging_node);
    if (!info.ok()) return Fail(info.status());
    if (info->dtype.is_vlen_string) return EOPNOTSUPP;  // no fill value for a line
    s = staging_->Truncate(file.staging_node, end);
  } else {
    // A hole, or zeroed blocks, of a dataset: the fill value, which is
    // what a dataset's unwritten regions read as.
    if (keep_size) end = std::min(end, *size);
    if (begin >= end) return 0;
    s = staging_->FillRange(file.staging_node, begin, end - begin);
  }
  if (!s.ok()) return s.code() == vh5::Status::Code::kUnsupported ? EOPNOTSUPP : Fail(s);
  Touch();
  return 0;
}

int Filesystem::DoStatfs(struct statvfs* out) {
  // Staged and committed data both land on the disk that holds the file.
  const std::string& path = file_->path();
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::statvfs(dir.c_str(), out) != 0) {
    int err = errno;
    LogError(dir + ": statvfs: " + std::strerror(err));
    return err;
  }
  out->f_namemax = NAME_MAX;
  return 0;
}

int Filesystem::StagingParent(fuse_ino_t parent, const std::string& name,
                              vh5::Staging::NodeId* id) {
  NodeId node;
  if (int err = Resolve(parent, &node)) return err;
  // Before EROFS, as the lookup that precedes every such call answers.
  if (name.size() > NAME_MAX) return ENAMETOOLONG;
  if (node.type != NodeType::kStagingNode) return EROFS;
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    return EINVAL;
  *id = node.staging;
  return 0;
}

int Filesystem::LookupStaging(vh5::Staging::NodeId id, Entry* out) {
  if (int err = StatStaging(id, &out->attr)) return err;
  out->timeout = out->entry_timeout = kTopLevelTimeout;
  bool created = false;
  // Named with the commits made so far: after `mv staging versions/NAME`
  // the kernel keeps staging/'s old inodes under versions/NAME until it
  // looks again, and a lookup of staging/ answering one of them would be an
  // alias of that dentry, which the kernel cannot move inside a rename(2)
  // (ESTALE; issue 16). A fresh staging/ is fresh inodes.
  NodeId node{NodeType::kStagingNode, "", "", std::to_string(staging_commits_), id, ""};
  out->ino = inodes_.Lookup(node, &created);
  // Held while the kernel knows the inode (its open files included), so
  // that a removed node lives on for them; released by the last forget.
  if (created) {
    if (vh5::Status s = staging_->Hold(id); !s.ok()) LogError(s.ToString());
  }
  out->attr.st_ino = out->ino;
  return 0;
}

int Filesystem::DoCreate(fuse_ino_t parent, const std::string& name, Entry* entry, OpenFile** out) {
  vh5::Staging::NodeId parent_id = 0;
  if (int err = StagingParent(parent, name, &parent_id)) return err;
  vh5::MutexLock lock(&staging_mu_);
  vh5::Result<vh5::Staging::NodeId> id = staging_->Lookup(parent_id, name);
  if (id.ok()) {
    vh5::Result<vh5::NodeKind> kind = staging_->Kind(*id);
    if (!kind.ok()) return Fail(kind.status());
    if (*kind != vh5::NodeKind::kDataset) return EISDIR;
    if (vh5::Status s = staging_->Truncate(*id, 0); !s.ok()) return Fail(s);
  } else {
    id = staging_->CreateDataset(parent_id, name);
    if (!id.ok()) return Fail(id.status());
  }
  Touch();
  if (int err = LookupStaging(*id, entry)) return err;
  *out = new OpenFile{nullptr, *id, nullptr};
  return 0;
}

int Filesystem::DoMknod(fuse_ino_t parent, const std::string& name, mode_t mode, Entry* out) {
  vh5::Staging::NodeId parent_id = 0;
  if (int err = StagingParent(parent, name, &parent_id)) return err;
  if (!S_ISREG(mode)) return EPERM;  // only datasets live here
  vh5::MutexLock lock(&staging_mu_);
  vh5::Result<vh5::Staging::NodeId> id = staging_->CreateDataset(parent_id, name);
  if (!id.ok()) return Fail(id.status());
  Touch();
  return LookupStaging(*id, out);
}

int Filesystem::DoMkdir(fuse_ino_t parent, const std::string& name, Entry* out) {
  vh5::Staging::NodeId parent_id = 0;
  if (int err = StagingParent(parent, name, &parent_id)) return err;
  vh5::MutexLock lock(&staging_mu_);
  vh5::Result<vh5::Staging::NodeId> id = staging_->Mkdir(parent_id, name);
  if (!id.ok()) return Fail(id.status());
  Touch();
  return LookupStaging(*id, out);
}

int Filesystem::DoUnlink(fuse_ino_t parent, const std::string& name) {
  vh5::Staging::NodeId parent_id = 0;
  if (int err = StagingParent(parent, name, &parent_id)) return err;
  vh5::MutexLock lock(&staging_mu_);
  if (vh5::Status s = staging_->Unlink(parent_id, name); !s.ok()) return Fail(s);
  Touch();
  return 0;
}

int Filesystem::DoRmdir(fuse_ino_t parent, const std::string& name) {
  NodeId node;
  if (int err = Resolve(parent, &node)) return err;
  if (node.type == NodeType::kVersionsDir && name.size() <= NAME_MAX) return RemoveVersion(name);
  vh5::Staging::NodeId parent_id = 0;
  if (int err = StagingParent(parent, name, &parent_id)) return err;
  vh5::MutexLock lock(&staging_mu_);
  if (vh5::Status s = staging_->Rmdir(parent_id, name); !s.ok()) return Fail(s);
  Touch();
  return 0;
}

int Filesystem::CheckStagingBase(const std::string& name, bool* base) {
  *base = staging_ && staging_->base_name() == name;
  return *base && staging_->HasChanges() ? EBUSY : 0;
}

int Filesystem::RemoveVersion(const std::string& name) {
  if (options_.read_only) return EROFS;
  if (!file_->GetVersionInfo(name).ok()) return ENOENT;
  vh5::MutexLock lock(&staging_mu_);
  bool base = false;
  if (int err = CheckStagingBase(name, &base)) return err;
  // The same code and transaction as vh5 delete, under the file's lock.
  vh5::Status deleted = file_->Rewrite([&] {
    return vh5::DeleteVersions(file_->path(), {name}, {}, options_.commit_wait).status();
  });
  if (!deleted.ok()) return Fail(deleted);
  LogInfo("deleted version " + name + " of " + file_->path());
  if (base) {
    // staging/ mirrored it: it mirrors what is current now, as after a commit.
    int err = 0;
    std::shared_ptr<const vh5::Version> current = CurrentVersion(&err);
    if (err != 0) return err;
    if (vh5::Status s = staging_->Rebase(current); !s.ok()) return Fail(s);
    Touch();
  }
  return 0;
}

int Filesystem::RenameVersion(const std::string& from, const std::string& to) {
  if (options_.read_only) return EROFS;
  if (from == to) return file_->GetVersionInfo(from).ok() ? 0 : ENOENT;
  vh5::Result<vh5::VersionInfo> info = file_->GetVersionInfo(from);
  if (!info.ok()) return ENOENT;
  if (vh5::Status s = vh5::ValidateVersionName(to); !s.ok()) return Fail(s);
  if (file_->GetVersionInfo(to).ok()) return EEXIST;
  vh5::MutexLock lock(&staging_mu_);
  bool base = false;
  if (int err = CheckStagingBase(from, &base)) return err;
  vh5::Status renamed = file_->Rewrite(
      [&] { return vh5::RenameVersion(file_->path(), from, to, options_.commit_wait); });
  if (!renamed.ok()) return Fail(renamed);
  LogInfo("renamed version " + from + " of " + file_->path() + " to " + to);
  // The kernel moved the directory's inode to the new name: from now on it
  // names the renamed version (what is inside, looked up before, is stale).
  inodes_.Rename(NodeId{NodeType::kVersionNode, from, "", info->timestamp, 0, ""},
                 NodeId{NodeType::kVersionNode, to, "", info->timestamp, 0, ""});
  {
    vh5::MutexLock renames(&renames_mu_);
    renamed_[from + '\0' + info->timestamp] = to;
  }
  if (base) {
    int err = 0;
    std::shared_ptr<const vh5::Version> renamed_base = Version(to, &err);
    if (err != 0) return err;
    if (vh5::Status s = staging_->Rebase(renamed_base); !s.ok()) return Fail(s);
    Touch();
  }
  return 0;
}

int Filesystem::DoRename(fuse_ino_t parent, const std::string& name, fuse_ino_t new_parent,
                         const std::string& new_name, unsigned int flags) {
  NodeId from, to;
  if (int err = Resolve(parent, &from)) return err;
  if (int err = Resolve(new_parent, &to)) return err;
  // RENAME_EXCHANGE, RENAME_WHITEOUT (for overlayfs) and any flag to come:
  // unsupported, as on a filesystem without them.
  if (flags & ~static_cast<unsigned int>(RENAME_NOREPLACE)) return EINVAL;
  if (name.size() > NAME_MAX || new_name.size() > NAME_MAX) return ENAMETOOLONG;
  if (from.type == NodeType::kRoot && name == kStagingName && !options_.read_only &&
      to.type == NodeType::kVersionsDir)
    return Commit(new_name);
  if (from.type == NodeType::kVersionsDir && to.type == NodeType::kVersionsDir)
    return RenameVersion(name, new_name);
  vh5::Staging::NodeId from_id = 0, to_id = 0;
  if (int err = StagingParent(parent, name, &from_id)) return err;
  if (int err = StagingParent(new_parent, new_name, &to_id)) return err;
  vh5::MutexLock lock(&staging_mu_);
  if ((flags & RENAME_NOREPLACE) && staging_->Lookup(to_id, new_name).ok()) return EEXIST;
  // Inodes name nodes, not paths: the moved node keeps its inode, a
  // replaced one lives on detached while the kernel knows it.
  if (vh5::Status s = staging_->Rename(from_id, name, to_id, new_name); !s.ok()) return Fail(s);
  Touch();
  return 0;
}

int Filesystem::Commit(const std::string& name) {
  vh5::MutexLock lock(&staging_mu_);
  if (vh5::Status s = vh5::ValidateVersionName(name); !s.ok()) return Fail(s);
  if (name.size() > NAME_MAX) return ENAMETOOLONG;
  std::string note;
  vh5::Status committed = staging_->Commit(*file_, name, &note);
  if (!note.empty()) LogError(note);
  if (!committed.ok()) {
    // Where the user looks: mv prints only the errno.
    commit_error_ = "committing " + name + ": " + committed.ToString();
    int err = Fail(committed);
    // rename(2)'s EINVAL reads as "a subdirectory of itself" in mv: staged
    // content that cannot be committed is refused as not permitted.
    return err == EINVAL ? EPERM : err;
  }
  commit_error_.clear();
  ++staging_commits_;
  LogInfo("committed version " + name + " of " + file_->path());
  if (vh5::Result<vh5::VersionInfo> info = file_->GetVersionInfo(name); info.ok())
    newest_commit_ns_.store(std::max(newest_commit_ns_.load(), info->timestamp_ns));
  Touch();
  return 0;
}

int Filesystem::DoWrite(const OpenFile& file, uint64_t offset, std::string_view data,
                        size_t* written) {
  if (file.dataset || file.text) return EBADF;
  vh5::MutexLock lock(&staging_mu_);
  vh5::Result<size_t> n = staging_->Write(file.staging_node, offset, data);
  if (!n.ok()) return Fail(n.status());
  *written = *n;
  Touch();
  return 0;
}

int Filesystem::DoCopyFileRange(const OpenFile& in, uint64_t in_offset, const OpenFile& out,
                                uint64_t out_offset, size_t len, size_t* copied) {
  *copied = 0;
  if (out.dataset || out.text) return EBADF;  // committed versions are read-only
  constexpr size_t kPiece = 1 << 20;
  thread_local std::vector<char> buf;
  len = std::min(len, kCopyBytesPerRequest);
  while (*copied < len) {
    size_t n = 0;
    if (int err = DoRead(in, in_offset + *copied, std::min(kPiece, len - *copied), &buf, &n))
      return *copied > 0 ? 0 : err;
    if (n == 0) break;
    size_t written = 0;
    if (int err = DoWrite(out, out_offset + *copied, std::string_view(buf.data(), n), &written))
      return *copied > 0 ? 0 : err;
    *copied += written;
    if (written < n) break;  // the disk filled: a short copy, as write(2) gives
  }
  return 0;
}

int Filesystem::DoFsync(fuse_ino_t ino) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kStagingNode) return 0;  // nothing else changes
  vh5::MutexLock lock(&staging_mu_);
  if (vh5::Status s = staging_->Sync(); !s.ok()) return Fail(s);
  return 0;
}

int Filesystem::DoFlush(const OpenFile& file) {
  if (file.dataset || file.text) return 0;
  vh5::MutexLock lock(&staging_mu_);
  // A removed dataset is checked too: its content is what this file reads.
  if (vh5::Status s = staging_->Flush(file.staging_node); !s.ok()) return Fail(s);
  return 0;
}

int Filesystem::DoSetattr(fuse_ino_t ino, const struct stat& attr, int to_set, bool has_file,
                          struct stat* out, double* timeout) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kStagingNode) return EROFS;
  if (to_set & FUSE_SET_ATTR_SIZE) {
    vh5::MutexLock lock(&staging_mu_);
    if (attr.st_size < 0) return EINVAL;
    vh5::Status s = staging_->Truncate(node.staging, static_cast<uint64_t>(attr.st_size));
    // truncate(2) has no close to check the rows at: check them now.
    if (s.ok() && !has_file) s = staging_->Flush(node.staging);
    if (!s.ok()) return Fail(s);
    Touch();
  }
  // Modes, owners and times are not stored: cp -a and tar set them, and must not fail.
  return DoGetattr(ino, out, timeout);
}

int Filesystem::SetStagingRootXattr(const std::string& name, const std::string& value) {
  if (name == "user.vh5.prev_version") {
    // An empty base, as the Python library's stage_version(name,
    // prev_version=''): staging/ empties, and the commit's prev_version is
    // kFirstVersionName, as that library stores it.
    std::string base_name = value.empty() ? std::string(vh5::kFirstVersionName) : value;
    if (base_name == staging_->base_name()) return 0;
    if (staging_->HasChanges()) return EBUSY;
    std::shared_ptr<const vh5::Version> base;
    if (base_name != vh5::kFirstVersionName) {
      int err = 0;
      base = Version(base_name, &err);
      if (!base) return err == ENOENT ? EINVAL : err;
    }
    // Persisted: the next mount mirrors this base too.
    if (vh5::Status s = staging_->Rebase(base); !s.ok()) return Fail(s);
    Touch();
    return 0;
  }
  if (name == "user.vh5.timestamp") {
    if (!value.empty() && !vh5::ParseTimestamp(value)) return EINVAL;
    if (vh5::Status s = staging_->SetCommitTimestamp(value); !s.ok()) return Fail(s);
    return 0;
  }
  if (name == "user.vh5.make_current") {
    if (value != "0" && value != "1") return EINVAL;
    if (vh5::Status s = staging_->SetMakeCurrent(value == "1"); !s.ok()) return Fail(s);
    return 0;
  }
  if (name == "user.vh5.discard") {
    // Drops every staged change and its persisted state: staging/ mirrors
    // its base again, and so does the next mount (a state naming only the
    // base is kept when that is not the current version).
    std::optional<std::string> current = file_->CurrentVersion();
    bool keep_base = staging_->base_name() != current.value_or(vh5::kFirstVersionName);
    if (vh5::Status s = staging_->Discard(keep_base); !s.ok()) return Fail(s);
    Touch();
    return 0;
  }
  return -1;  // not a staging-root name
}

int Filesystem::DoSetxattr(fuse_ino_t ino, const std::string& name, const std::string& value) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kStagingNode) return EROFS;
  vh5::MutexLock lock(&staging_mu_);
  if (node.staging == vh5::Staging::kRootId) {
    int err = SetStagingRootXattr(name, value);
    if (err >= 0) return err;
  }
  static const std::string kAttr = "user.h5.", kType = "user.vh5.h5type.", kMeta = "user.vh5.";
  vh5::Status s;
  if (name.rfind(kAttr, 0) == 0) {
    s = staging_->SetAttributeText(node.staging, name.substr(kAttr.size()), value);
  } else if (name.rfind(kType, 0) == 0) {
    s = staging_->SetAttributeType(node.staging, name.substr(kType.size()), value);
  } else if (name.rfind(kMeta, 0) == 0) {
    return SetStagingMetadata(node.staging, name, value);
  } else {
    return EOPNOTSUPP;
  }
  if (!s.ok()) return Fail(s);
  Touch();
  return 0;
}

int Filesystem::SetStagingMetadata(vh5::Staging::NodeId id, const std::string& name,
                                   const std::string& value) {
  vh5::Status s;
  if (name == "user.vh5.dtype") {
    s = staging_->SetDtype(id, value);
  } else if (name == "user.vh5.shape" || name == "user.vh5.chunks") {
    vh5::Result<std::vector<uint64_t>> dims = vh5::ParseDims(value);
    if (!dims.ok()) {
      s = dims.status().WithContext(name);
    } else {
      s = name == "user.vh5.shape" ? staging_->SetShape(id, *dims) : staging_->SetChunks(id, *dims);
    }
  } else if (name == "user.vh5.fillvalue") {
    s = staging_->SetFillValue(id, value);
  } else if (name == "user.vh5.compression") {
    s = staging_->SetCompression(id, value);
  } else {
    s = vh5::Status::InvalidArgument(name + ": not a settable attribute");
  }
  if (!s.ok()) return Fail(s);
  Touch();
  return 0;
}

namespace {

bool IsDatasetFact(const std::string& name) {
  return name == "user.vh5.dtype" || name == "user.vh5.shape" || name == "user.vh5.chunks" ||
         name == "user.vh5.fillvalue" || name == "user.vh5.compression";
}

}  // namespace

int Filesystem::DoRemovexattr(fuse_ino_t ino, const std::string& name) {
  NodeId node;
  if (int err = Resolve(ino, &node)) return err;
  if (node.type != NodeType::kStagingNode) return EROFS;
  vh5::MutexLock lock(&staging_mu_);
  static const std::string kAttr = "user.h5.", kType = "user.vh5.h5type.";
  vh5::Status s;
  if (name.rfind(kAttr, 0) == 0) {
    s = staging_->RemoveAttribute(node.staging, name.substr(kAttr.size()));
  } else if (name.rfind(kType, 0) == 0) {
    s = staging_->SetAttributeType(node.staging, name.substr(kType.size()), "");
  } else if (node.staging == vh5::Staging::kRootId && name == "user.vh5.timestamp") {
    if (vh5::Status st = staging_->SetCommitTimestamp(""); !st.ok()) return Fail(st);
    return 0;
  } else if (node.staging == vh5::Staging::kRootId && name == "user.vh5.make_current") {
    if (vh5::Status st = staging_->SetMakeCurrent(true); !st.ok()) return Fail(st);
    return 0;
  } else if (node.staging == vh5::Staging::kRootId && name == "user.vh5.commit_error") {
    commit_error_.clear();
    return 0;
  } else if (node.staging == vh5::Staging::kRootId && name == "user.vh5.prev_version") {
    return 0;  // staging/ always has a base: rsync -X removing it changes nothing
  } else if (IsDatasetFact(name)) {
    // Every dataset has each of them: removing one (rsync -X clearing what
    // its source lacks) leaves it as it is.
    return 0;
  } else {
    return EINVAL;  // dataset metadata can be set, not removed
  }
  if (!s.ok()) return s.IsNotFound() ? ENODATA : Fail(s);
  Touch();
  return 0;
}

}  // namespace vh5fs
