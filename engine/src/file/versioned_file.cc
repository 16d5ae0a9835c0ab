#include "vh5/versioned_file.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "commit/atomic_commit.h"
#include "file/file_watcher.h"
#include "file/live_version.h"
#include "file/node_times.h"
#include "format/attribute_values.h"
#include "format/file_layout.h"
#include "format/file_walk.h"
#include "format/hash_table.h"
#include "format/node_fingerprint.h"
#include "format/object_check.h"
#include "hdf5/h5_handle.h"
#include "journal/held_lock.h"
#include "read/file_core.h"
#include "read/file_state.h"
#include "read/memory_cache.h"
#include "read/version_tree.h"
#include "util/block_cached_file.h"
#include "util/posix_file.h"
#include "util/shares.h"
#include "vh5/mutex.h"
#include "vh5/shape.h"
#include "vh5/timestamp.h"

namespace vh5 {
namespace {

herr_t CollectGroupName(hid_t, const char* name, const H5L_info_t* info, void* data) {
  if (info->type == H5L_TYPE_HARD) static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

// Versions read one at a time before the rest are read in one pass.
constexpr int kMissesBeforeOnePass = 16;
// The walk for own times: readers on as many threads, each reading this many
// versions ahead in its first round, twice as many each round up to the last.
constexpr size_t kWalkThreads = 2;
constexpr size_t kWalkFirstRound = 4;
constexpr size_t kWalkLastRound = 64;
// The versions' metadata pass shares its work out from this many versions.
constexpr size_t kVersionsPerInfoShare = 256;

// What a stat says of the file: another process changed it when this differs.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
  bool SameFile(const FileStamp& other) const { return dev == other.dev && ino == other.ino; }
};

Result<FileStamp> StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::IOError(path + ": " + std::strerror(errno));
  return FileStamp{st.st_dev, st.st_ino, st.st_size,
                   st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                   st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec};
}

// The top of the versions group: what a refresh compares.
struct Top {
  int data_version = 1;
  std::optional<std::string> current;
  std::set<std::string> names;  // every link in versions/ but kFirstVersionName
};

// `known_names`: the versions, known already (after this process's own
// commit), not listed again: a listing costs in proportion to the history.
Result<Top> ReadTop(const FileCore& core, const std::set<std::string>* known_names = nullptr) {
  DiskRead disk(core.access, DiskRead::Kind::kMetadata, core.path);
  VH5_RETURN_IF_ERROR(disk.status());
  VH5_ASSIGN_OR_RETURN(h5::Handle group, OpenCheckedGroup(core.file.get(), layout::kVersionsGroup));
  hid_t versions = group.get();
  Top top;
  VH5_ASSIGN_OR_RETURN(int64_t data_version, layout::ReadDataVersion(versions));
  top.data_version = static_cast<int>(data_version);
  if (h5::AttributeExists(versions, layout::kCurrentVersionAttr)) {
    VH5_ASSIGN_OR_RETURN(std::string name,
                         h5::ReadStringAttribute(versions, layout::kCurrentVersionAttr));
    if (name != kFirstVersionName) top.current = name;
  }
  if (known_names) {
    top.names = *known_names;
    return top;
  }
  std::vector<std::string> links;
  hsize_t idx = 0;
  if (H5Literate(versions, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectGroupName, &links) < 0)
    return h5::Error("cannot list versions");
  for (std::string& name : links)
    if (name != kFirstVersionName) top.names.insert(std::move(name));
  return top;
}

// The metadata of the version group `group`, named `name`; nullopt for a
// commit the Python library never finished.
Result<std::optional<VersionInfo>> InfoOfGroup(hid_t group, const std::string& name) {
  if (h5::AttributeExists(group, layout::kCommittedAttr)) {
    VH5_ASSIGN_OR_RETURN(int64_t committed, h5::ReadIntAttribute(group, layout::kCommittedAttr));
    if (!committed) return std::optional<VersionInfo>();
  }
  VersionInfo info;
  info.name = name;
  Result<std::string> prev = h5::ReadStringAttribute(group, layout::kPrevVersionAttr);
  info.prev_version = prev.ok() ? *prev : kFirstVersionName;
  Result<std::string> ts = h5::ReadStringAttribute(group, layout::kTimestampAttr);
  if (ts.ok()) {
    info.timestamp = *ts;
    info.timestamp_ns = ParseTimestamp(*ts).value_or(0);
  }
  return std::optional<VersionInfo>(std::move(info));
}

// InfoOfGroup from the group's header bytes; Unsupported (or Corruption)
// where HDF5 is to read them, and say what it finds.
Result<std::optional<VersionInfo>> InfoOfHeader(const ObjectHeader& header, AttributeValues* values,
                                                const std::string& name) {
  VH5_ASSIGN_OR_RETURN(bool has_committed, values->Has(header, layout::kCommittedAttr));
  if (has_committed) {
    VH5_ASSIGN_OR_RETURN(bool committed, values->NonZero(header, layout::kCommittedAttr));
    if (!committed) return std::optional<VersionInfo>();
  }
  VersionInfo info;
  info.name = name;
  Result<std::string> prev = values->String(header, layout::kPrevVersionAttr);
  if (!prev.ok() && !prev.status().IsNotFound()) return prev.status();
  info.prev_version = prev.ok() ? *prev : kFirstVersionName;
  Result<std::string> ts = values->String(header, layout::kTimestampAttr);
  if (!ts.ok() && !ts.status().IsNotFound()) return ts.status();
  if (ts.ok()) {
    info.timestamp = *ts;
    info.timestamp_ns = ParseTimestamp(*ts).value_or(0);
  }
  return std::optional<VersionInfo>(std::move(info));
}

// The metadata of version `name`, nullopt when it is not a version: not a
// group, or a commit the Python library never finished.
Result<std::optional<VersionInfo>> ReadInfoFrom(const FileCore& core, const std::string& name) {
  DiskRead disk(core.access, DiskRead::Kind::kMetadata, core.path + ": version " + name);
  VH5_RETURN_IF_ERROR(disk.status());
  VH5_ASSIGN_OR_RETURN(h5::Handle versions,
                       OpenCheckedGroup(core.file.get(), layout::kVersionsGroup));
  VH5_RETURN_IF_ERROR(GuardPath(versions.get(), name).WithContext("version " + name));
  H5O_info_t oinfo;
  if (H5Oget_info_by_name2(versions.get(), name.c_str(), &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    return h5::Error("cannot inspect version " + name);
  if (oinfo.type != H5O_TYPE_GROUP) return std::optional<VersionInfo>();
  h5::Handle group(H5Gopen2(versions.get(), name.c_str(), H5P_DEFAULT));
  if (!group) return h5::Error("cannot open version " + name);
  return InfoOfGroup(group.get(), name);
}

// The metadata of the versions `wanted` lacks, read in one pass over the
// versions group: each by the address its link gives, where one at a time
// each is looked up by name three times. Versions whose header cannot be
// read are left out (read one at a time, they say why).
Result<std::map<std::string, std::optional<VersionInfo>>> ReadInfosFrom(
    const FileCore& core, const std::set<std::string>& wanted) {
  DiskRead disk(core.access, DiskRead::Kind::kMetadata, core.path + ": versions");
  VH5_RETURN_IF_ERROR(disk.status());
  VH5_ASSIGN_OR_RETURN(h5::Handle versions,
                       OpenCheckedGroup(core.file.get(), layout::kVersionsGroup));
  VH5_ASSIGN_OR_RETURN(std::vector<HardLink> links, AddressedHardLinks(versions.get()));
  std::shared_ptr<ObjectChecker> checker = CheckerFor(versions.get());
  if (!checker) return std::map<std::string, std::optional<VersionInfo>>();
  // The attributes read from the headers' bytes, four times faster than
  // through HDF5; HDF5 reads what those decline. Not through blocks: the
  // headers lie a version's data apart.
  std::optional<FileBytes> bytes;
  if (core.fd) {
    if (Result<FileBytes> of = FileBytes::Of(core.file.get(), core.fd->get()); of.ok())
      bytes.emplace(std::move(*of));
  }
  // Shares of the versions on as many threads, under this thread's pass of
  // the gate (see mapped_dataset.cc).
  size_t shares = links.size() < kVersionsPerInfoShare
                      ? 1
                      : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kWalkThreads);
  std::vector<std::map<std::string, std::optional<VersionInfo>>> found(shares);
  DiskRead::Passes passes = DiskRead::Current();
  VH5_RETURN_IF_ERROR(RunShares(shares, [&](size_t k) -> Status {
    DiskRead::Adopt adopt(passes);
    std::optional<GlobalHeapObjects> heap;
    std::optional<AttributeValues> values;
    if (bytes) values.emplace(*bytes, &heap.emplace(*bytes));
    ObjectHeader header;
    std::map<std::string, std::optional<VersionInfo>>& out = found[k];
    for (size_t i = k; i < links.size(); i += shares) {
      const auto& [name, address] = links[i];
      if (!wanted.count(name)) continue;
      // A group's attributes read from its header, bounded, HDF5 not asked:
      // what else the header holds is checked when the version is opened.
      if (values && header.ReadFrom(*bytes, address).ok() &&
          ObjectChecker::KindOf(header) == ObjectChecker::Kind::kGroup) {
        if (Result<std::optional<VersionInfo>> info = InfoOfHeader(header, &*values, name);
            info.ok()) {
          out.emplace(name, std::move(*info));
          continue;
        }
      }
      // Opened by address and its attributes read: its links stay unread.
      Result<ObjectChecker::Kind> kind = checker->CheckedHeaderKind(address);
      if (!kind.ok()) continue;
      if (*kind != ObjectChecker::Kind::kGroup) {
        out.emplace(name, std::nullopt);
        continue;
      }
      h5::Handle group(H5Oopen_by_addr(versions.get(), address));
      if (!group) {
        h5::TakeErrorStack();
        continue;
      }
      Result<std::optional<VersionInfo>> info = InfoOfGroup(group.get(), name);
      if (info.ok()) out.emplace(name, std::move(*info));
    }
    return Status::OK();
  }));
  std::map<std::string, std::optional<VersionInfo>> out = std::move(found[0]);
  for (size_t k = 1; k < shares; ++k) out.merge(found[k]);
  return out;
}

// What a node's times follow (VersionedFile::ChangedAtNs): a dataset's
// type, shape, chunks, fill value, compression, attributes and mappings; a
// group's attributes and children. nullopt when `version` has no node at `path`.
Result<std::optional<std::string>> Fingerprint(const Version& version, const std::string& path) {
  Result<NodeKind> kind = version.Kind(path);
  if (!kind.ok()) {
    if (kind.status().IsNotFound()) return std::optional<std::string>();
    return kind.status();
  }
  std::string fp;
  auto field = [&fp](std::string_view text) {
    fp += std::to_string(text.size());
    fp.push_back(':');
    fp += text;
  };
  auto attributes = [&field](const Attributes& attrs) {
    for (const Attribute& a : attrs) {
      field(a.name);
      field(a.text);
      field(a.type);
    }
  };
  if (*kind == NodeKind::kGroup) {
    fp = "g";
    VH5_ASSIGN_OR_RETURN(std::vector<DirEntry> children, version.List(path));
    for (const DirEntry& e : children) {
      field(e.name);
      fp.push_back(e.kind == NodeKind::kGroup ? 'g' : 'd');
    }
    VH5_ASSIGN_OR_RETURN(Attributes attrs, version.GetAttributes(path));
    attributes(attrs);
    return std::optional<std::string>(std::move(fp));
  }
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Dataset> dataset, version.OpenDataset(path));
  std::string key = dataset->ContentKey();
  if (key.empty()) return std::optional<std::string>(std::string());  // never equal
  const DatasetInfo& info = dataset->info();
  fp = "d";
  field(info.dtype.numpy);
  field(DimsText(info.shape));
  field(DimsText(info.chunks));
  field(info.fill_bytes);
  field(info.compression);
  attributes(info.attrs);
  field(key);
  return std::optional<std::string>(std::move(fp));
}

std::string ParentPath(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

class VersionedFileImpl final : public VersionedFile,
                                public std::enable_shared_from_this<VersionedFileImpl> {
 public:
  static Result<std::shared_ptr<VersionedFile>> Open(const std::string& path, Access access,
                                                     const OpenOptions& options);
  ~VersionedFileImpl() override {
    watcher_.reset();  // its thread calls into this object
    MemoryCache::Process().Forget(trees_owner_);
  }

  const std::string& path() const override { return path_; }
  int data_version() const override;
  std::vector<VersionInfo> ListVersions() const override;
  std::vector<std::string> ListVersionNames() const override;
  std::optional<std::string> CurrentVersion() const override;
  Result<VersionInfo> GetVersionInfo(const std::string& name) const override;
  Result<std::shared_ptr<const Version>> GetVersion(const std::string& name) const override;
  Status Commit(const NewVersion& version) override;
  Status Commit(const VersionPlan& plan) override;
  Status Rewrite(const std::function<Status()>& write) override;
  Result<int64_t> ChangedAtNs(const std::string& version, const std::string& path) const override;
  Status StartFollowing() override;
  Status Refresh() override;
  void SetChangeListener(std::function<void()> listener) override {
    MutexLock lock(&listener_mu_);
    listener_ = std::move(listener);
  }
  uint64_t foreign_changes() const override { return foreign_changes_.load(); }
  uint64_t versions_generation() const override { return versions_generation_.load(); }

 private:
  // The metadata of version `name`, nullopt when it is not a version: not a
  // group, or a commit the Python library never finished.
  Result<std::optional<VersionInfo>> ReadInfo(const std::string& name) const;
  // The version's tree as the file is now (for LiveVersion).
  Result<std::shared_ptr<const Version>> LoadTree(const VersionInfo& info) const;
  // Takes in another process's changes, if the file changed since
  // known_stamp_. The caller keeps readers out (the gate closed, or the
  // file's flock held).
  Status Absorb() REQUIRES(change_mu_);
  // The watcher's writer_coming, before the gate closes: the slot hashes of
  // every raw_data alive, for reads checked while the other process writes.
  void PrepareForWriter();
  // The watcher's writer_gone: reads the file again, then lets readers in.
  void AfterForeignWrite(bool writer_was_there);
  // Closes the gate, absorbs, opens it: for a change no writer was seen making.
  Status AbsorbBehindGate();
  void Changed();
  // When each of `paths` (nodes of `version`) last changed itself
  // (Fingerprint), into times_: one walk along prev_version for all, each
  // older version's tree loaded once.
  Status WalkOwnChanges(const std::string& version, const std::vector<std::string>& paths) const;
  // The fingerprints (Fingerprint) of nodes `paths` of a version into
  // `out`, nullopt where it has none; two ways to read them, each comparable
  // only with itself. One call a version: its reads pass the gate once.
  using Fingerprints = std::vector<std::optional<std::string>>;
  using NodeFingerprint = std::function<Status(
      const VersionInfo& info, const std::vector<std::string>& paths, Fingerprints* out)>;
  // From the file's bytes (node_fingerprint.h), as the readers' handle sees it.
  Result<NodeFingerprint> FingerprintsFromBytes() const;
  // Through each version's tree.
  NodeFingerprint FingerprintsFromTrees() const;
  // With one reader per thread: each reads its share of the versions ahead.
  Status WalkOwnChangesWith(const std::string& version, const std::vector<std::string>& paths,
                            const std::vector<NodeFingerprint>& readers) const;
  // A tree for that walk: the cached one, else loaded without caching it.
  Result<std::shared_ptr<const Version>> WalkTree(const VersionInfo& info) const;

  // The readers' handle, replaced by a fresh one after each commit (objects
  // handed out keep theirs: what they read never changes).
  std::shared_ptr<FileCore> Core() const {
    MutexLock lock(&mu_);
    return core_;
  }
  void SetTop(Top top) REQUIRES(mu_);

  std::string path_;
  Access access_ = Access::kReadOnly;
  OpenOptions options_;
  std::shared_ptr<FileState> state_ = std::make_shared<FileState>();
  std::atomic<uint64_t> foreign_changes_{0};
  std::atomic<uint64_t> versions_generation_{0};  // bumped by SetTop

  // Serializes commits and refreshes.
  Mutex change_mu_;
  FileStamp known_stamp_ GUARDED_BY(change_mu_);
  // The hash tables its commits wrote, valid while no one else writes.
  HashTableCache hash_tables_;
  // Commits since the heap was last trimmed (Commit).
  static constexpr int kCommitsPerTrim = 16;
  int commits_since_trim_ GUARDED_BY(change_mu_) = 0;
  // Serializes the closings of the gate that no writer asked for.
  std::mutex closer_mu_;
  // Readers take only mu_, and never hold it across an HDF5 call.
  mutable Mutex mu_ ACQUIRED_AFTER(change_mu_);
  std::shared_ptr<FileCore> core_ GUARDED_BY(mu_);
  int data_version_ GUARDED_BY(mu_) = 1;
  std::optional<std::string> current_ GUARDED_BY(mu_);
  std::set<std::string> names_ GUARDED_BY(mu_);  // every link in versions/ but kFirstVersionName
  // Metadata read so far, by name; nullopt: named, but not a version.
  mutable std::map<std::string, std::optional<VersionInfo>> infos_ GUARDED_BY(mu_);
  // Versions read one at a time since the last pass over them all, and
  // whether such a pass is under way (GetVersionInfo).
  mutable int info_misses_ GUARDED_BY(mu_) = 0;
  mutable bool infos_pass_running_ GUARDED_BY(mu_) = false;
  // Versions handed out recently are kept in the process's MemoryCache under
  // this owner, by name, so that memory stays within its budget however
  // many versions are read; whoever holds one keeps it alive.
  const uint64_t trees_owner_ = MemoryCache::NewOwner();
  // A leaf lock: the listener takes none of this object's.
  Mutex listener_mu_;
  std::function<void()> listener_ GUARDED_BY(listener_mu_);
  // ChangedAtNs, memoized: "o" (own change) or "t" (with children), the
  // version, NUL, the path. Cleared when another process moved things (a
  // delete or rename rewrites prev_version); commits only add versions.
  mutable Mutex times_mu_ ACQUIRED_AFTER(mu_);
  mutable NodeTimes times_ GUARDED_BY(times_mu_);
  // Last: destroyed first, as its thread calls into the members above.
  std::unique_ptr<FileWatcher> watcher_;
};

Result<std::shared_ptr<VersionedFile>> VersionedFileImpl::Open(const std::string& path,
                                                               Access access,
                                                               const OpenOptions& options) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return Status::NotHdf5(path + ": is a directory, not an HDF5 file");
  if (access == Access::kReadWrite) {
    // A commit opens the file for writing and makes its journal beside it.
    std::string dir = path.rfind('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    if (::access(path.c_str(), W_OK) != 0 || ::access(dir.empty() ? "/" : dir.c_str(), W_OK) != 0)
      return Status::ReadOnly(path + ": no permission to write it (or its directory)");
  }
  VH5_RETURN_IF_ERROR(RecoverInterruptedChange(path, options.commit_wait));
  auto impl = std::shared_ptr<VersionedFileImpl>(new VersionedFileImpl());
  impl->path_ = path;
  impl->access_ = access;
  impl->options_ = options;
  impl->state_->writer_wait = options.writer_wait;
  {
    MutexLock change(&impl->change_mu_);
    // Stamped before reading: a change made meanwhile is seen by the next check.
    VH5_ASSIGN_OR_RETURN(impl->known_stamp_, StampOf(path));
  }
  {
    DiskRead disk(DiskAccess{impl->state_, 0}, DiskRead::Kind::kMetadata, path);
    VH5_RETURN_IF_ERROR(disk.status());
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      h5::TakeErrorStack();
      return Status::NotHdf5(path + ": not an HDF5 file");
    }
  }
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<FileCore> core,
                       FileCore::Open(path, DiskAccess{impl->state_, 0}));
  {
    DiskRead disk(core->access, DiskRead::Kind::kMetadata, path);
    VH5_RETURN_IF_ERROR(disk.status());
    Status guard = GuardPath(core->file.get(), layout::kVersionsGroup);
    if (!guard.ok()) return guard.WithContext(path);
    if (!h5::LinkExists(core->file.get(), layout::kVersionsGroup))
      return Status::NotVersioned(path + ": an HDF5 file without versioned data (no " +
                                  std::string(layout::kVersionsGroup) + ")");
  }
  Result<Top> top = ReadTop(*core);
  if (!top.ok()) return top.status().WithContext(path);
  {
    MutexLock lock(&impl->mu_);
    impl->core_ = std::move(core);
    impl->SetTop(std::move(*top));
  }
  if (std::optional<std::string> current = impl->CurrentVersion()) {
    Result<VersionInfo> info = impl->GetVersionInfo(*current);
    if (!info.ok())
      return Status::Corruption(path + ": current_version " + *current + " is not a version");
  }
  return std::shared_ptr<VersionedFile>(impl);
}

void VersionedFileImpl::SetTop(Top top) {
  data_version_ = top.data_version;
  current_ = std::move(top.current);
  names_ = std::move(top.names);
  versions_generation_.fetch_add(1);
}

Status VersionedFileImpl::Absorb() {
  VH5_ASSIGN_OR_RETURN(FileStamp now, StampOf(path_));
  if (now == known_stamp_) return Status::OK();
  // Another process wrote: its hash tables may be anything now.
  hash_tables_.Clear();
  // Whatever was read before may be out of date from here on (file_state.h).
  uint64_t generation = state_->generation.load() + 1;
  state_->generation.store(generation);
  DiskRead::Owner owner(state_.get());
  Result<std::shared_ptr<FileCore>> core = FileCore::Open(path_, DiskAccess{state_, generation});
  if (!core.ok())
    return core.status().WithContext("reading it again after another process's change");
  Result<Top> top = ReadTop(**core);
  if (!top.ok())
    return top.status().WithContext(path_ + ": reading it again after another process's change");
  bool moved = !now.SameFile(known_stamp_);
  {
    MutexLock lock(&mu_);
    moved = moved || top->data_version != data_version_ ||
            !std::includes(top->names.begin(), top->names.end(), names_.begin(), names_.end());
  }
  std::vector<std::string> gone;
  // Chunks moved (a delete compacts raw_data; a repack is another file):
  // what readers hold of the file's layout is void.
  if (moved) state_->moved_generation.store(generation);
  {
    MutexLock lock(&mu_);
    core_ = std::move(*core);
    // The trees of versions deleted meanwhile (values released after unlocking).
    for (const std::string& name : names_)
      if (!top->names.count(name)) gone.push_back(name);
    SetTop(std::move(*top));
    for (auto it = infos_.begin(); it != infos_.end();) {
      // A delete rewrites prev_version; an unfinished commit may be finished now.
      if (moved || !it->second || !names_.count(it->first)) {
        it = infos_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (moved) {
    // A delete or rename rewrites prev_version, which the trees' infos hold.
    MemoryCache::Process().Forget(trees_owner_);
    MutexLock lock(&times_mu_);
    times_.Clear();
  }
  for (const std::string& name : gone)
    MemoryCache::Process().Insert(trees_owner_, name, nullptr, 0);
  known_stamp_ = now;
  foreign_changes_.fetch_add(1);
  return Status::OK();
}

void VersionedFileImpl::Changed() {
  // Called under its lock: once SetChangeListener returns, the listener
  // it replaced is called no more (its owner may be gone).
  MutexLock lock(&listener_mu_);
  if (listener_) listener_();
}

void VersionedFileImpl::AfterForeignWrite(bool writer_was_there) {
  if (!writer_was_there) {
    (void)AbsorbBehindGate();
    return;
  }
  uint64_t before = foreign_changes_.load();
  {
    DiskRead::Owner owner(state_.get());
    MutexLock change(&change_mu_);
    if (Core()) (void)Absorb();  // else Open() has yet to read it
  }
  state_->checked_reads.store(false);
  state_->gate.Open();
  if (foreign_changes_.load() != before) Changed();
}

void VersionedFileImpl::PrepareForWriter() {
  std::shared_ptr<FileCore> core = Core();
  if (!core) return;
  std::vector<std::shared_ptr<RawData>> raws;
  {
    MutexLock lock(&state_->raws_mu);
    uint64_t moved = state_->moved_generation.load();
    for (const std::weak_ptr<RawData>& weak : state_->raws)
      if (std::shared_ptr<RawData> raw = weak.lock(); raw && raw->access().generation >= moved)
        raws.push_back(std::move(raw));
  }
  if (raws.empty()) return;
  DiskRead disk(core->access, DiskRead::Kind::kMetadata, path_);
  if (!disk.status().ok()) return;
  // By raw_data path: the rows of its dataset's hash table (nullptr: none readable).
  std::map<std::string, std::shared_ptr<const RawData::SlotHashes>> tables;
  for (const std::shared_ptr<RawData>& raw : raws) {
    auto [it, fresh] = tables.emplace(raw->path(), nullptr);
    if (fresh) {
      std::string group_path = raw->path().substr(0, raw->path().rfind('/'));
      Result<h5::Handle> group = OpenCheckedGroup(core->file.get(), group_path);
      Result<HashTable> table =
          group.ok() ? HashTable::Open(group->get()) : Result<HashTable>(group.status());
      h5::TakeErrorStack();
      if (table.ok()) {
        auto slots = std::make_shared<RawData::SlotHashes>();
        for (const HashTable::Row& row : table->rows())
          slots->emplace(row.start, RawData::Slot{row.stop, row.hash});
        it->second = std::move(slots);
      }
    }
    raw->SetSlotHashes(it->second);
  }
  state_->checked_reads.store(true);
}

Status VersionedFileImpl::AbsorbBehindGate() {
  {
    MutexLock change(&change_mu_);
    if (!Core()) return Status::OK();
    VH5_ASSIGN_OR_RETURN(FileStamp now, StampOf(path_));
    if (now == known_stamp_) return Status::OK();
  }
  uint64_t before = foreign_changes_.load();
  Status s;
  {
    std::lock_guard<std::mutex> closer(closer_mu_);
    state_->gate.Close();
    {
      DiskRead::Owner owner(state_.get());
      MutexLock change(&change_mu_);
      s = Absorb();
    }
    state_->gate.Open();
  }
  if (foreign_changes_.load() != before) Changed();
  return s;
}

Status VersionedFileImpl::StartFollowing() {
  if (watcher_) return Status::OK();
  FileWatcher::Hooks hooks;
  hooks.writer_coming = [this] {
    PrepareForWriter();
    state_->gate.Close();
  };
  hooks.writer_gone = [this](bool writer_was_there) { AfterForeignWrite(writer_was_there); };
  VH5_ASSIGN_OR_RETURN(watcher_, FileWatcher::Start(path_, std::move(hooks)));
  if (!watcher_->WaitForNoWriter(options_.commit_wait))
    return Status::Busy(path_ + ": another process has been writing it for " +
                        std::to_string(options_.commit_wait.count() / 1000) + " s");
  // What changed since Open read the file.
  return AbsorbBehindGate();
}

Status VersionedFileImpl::Refresh() {
  // A lease tells the watcher of every writer before it writes.
  if (watcher_ && watcher_->leases()) return Status::OK();
  return AbsorbBehindGate();
}
Result<std::optional<VersionInfo>> VersionedFileImpl::ReadInfo(const std::string& name) const {
  for (int attempt = 1;; ++attempt) {
    Result<std::optional<VersionInfo>> info = ReadInfoFrom(*Core(), name);
    // A refresh between taking the core and reading it: once more.
    if (info.ok() || info.status().code() != Status::Code::kStale || attempt == 3) return info;
  }
}

int VersionedFileImpl::data_version() const {
  MutexLock lock(&mu_);
  return data_version_;
}

std::optional<std::string> VersionedFileImpl::CurrentVersion() const {
  MutexLock lock(&mu_);
  return current_;
}

Status VersionedFileImpl::Commit(const NewVersion& version) { return Commit(PlanAsGiven(version)); }

Status VersionedFileImpl::Commit(const VersionPlan& plan) {
  if (access_ != Access::kReadWrite) return Status::ReadOnly(path_ + ": opened read-only");
  // HDF5's own lock: the Python library, vh5 and other mounts wait or fail.
  // Waited for before change_mu_, which the watcher needs to take in the
  // change of the process that holds the lock now: else that process
  // could wait in open(2) for the lease the watcher cannot give back.
  VH5_ASSIGN_OR_RETURN(Fd lock, HoldFileLock(path_, /*exclusive=*/true, options_.commit_wait));
  if (watcher_ && !watcher_->WaitForNoWriter(options_.commit_wait))
    return Status::Busy(path_ + ": another process has been writing it for " +
                        std::to_string(options_.commit_wait.count() / 1000) + " s");
  MutexLock change(&change_mu_);
  // No one else writes while the lock is held: reads need no gate.
  DiskRead::Owner owner(state_.get());
  VH5_RETURN_IF_ERROR(Absorb());
  const std::string& name = plan.version->name;
  const std::string& base = plan.version->prev_version;
  {
    MutexLock lock(&mu_);
    if (names_.count(name))
      return Status::Exists(path_ + ": version " + name +
                            " exists (committed by another process?)");
    if (!base.empty() && base != kFirstVersionName && !names_.count(base))
      return Status::Stale(path_ + ": version " + base +
                           ", the base of this commit, was deleted by another process");
  }
  if (watcher_) watcher_->BeginOwnWrite();
  VersionPlan with_tables = plan;
  with_tables.hash_tables = &hash_tables_;
  // The readers' chunk indexes: what the commit reads of raw_data, and the
  // readers' next core after it, need reading only where chunks were added.
  std::map<std::string, ChunkIndex> indexes;
  if (std::shared_ptr<FileCore> current = Core()) indexes = current->ChunkIndexes();
  with_tables.chunk_indexes = &indexes;
  auto commit_began = std::chrono::steady_clock::now();
  Status written = CommitAtomically(path_, with_tables, &state_->disk_mu);
  if (written.ok()) {
    hash_tables_.Commit();
  } else {
    hash_tables_.Abort();
  }
  // HDF5 keeps a virtual dataset's selections (~25 KiB per chunk) on its free
  // lists after the commit: give them back to the system. After a large
  // commit at once; after small ones, every kCommitsPerTrim: a trim walks
  // the whole heap (8% of a one-element commit's CPU after 1,700 versions),
  // and what small commits free, the next ones reuse.
  H5garbage_collect();
  if (++commits_since_trim_ >= kCommitsPerTrim ||
      std::chrono::steady_clock::now() - commit_began >= std::chrono::milliseconds(100)) {
    malloc_trim(0);
    commits_since_trim_ = 0;
  }
  Status read = Status::OK();
  if (written.ok()) {
    // The readers' handle knows the file as it was before: a fresh one sees
    // it whole. Nothing moved: what readers hold stays valid, and the chunk
    // indexes read need reading only where this commit added chunks.
    Result<std::shared_ptr<FileCore>> core =
        FileCore::Open(path_, DiskAccess{state_, state_->generation.load()}, std::move(indexes));
    // Only this commit changed the file since it was last read (Absorb):
    // what was checked stays checked, and the versions are known, so that a
    // commit costs the same after 20 versions or 2,000.
    std::set<std::string> names;
    if (core.ok()) {
      MutexLock lock(&mu_);
      if (core_ && core_->checker) (*core)->checker->Inherit(*core_->checker);
      names = names_;
      names.insert(name);
    }
    Result<Top> top = core.ok() ? ReadTop(**core, &names) : Result<Top>(core.status());
    if (top.ok()) {
      {
        MutexLock lock(&mu_);
        core_ = std::move(*core);
        SetTop(std::move(*top));
        // Metadata read so far still holds: a commit adds a version, it changes none.
      }
      // But each cached tree holds the core it was read through, with its
      // HDF5 handle and descriptors: kept, every commit would leave one
      // behind (700 KiB and 2 descriptors each). Trees load again through
      // the new core when next asked for.
      MemoryCache::Process().Forget(trees_owner_);
    } else {
      read = top.status().WithContext(path_);
    }
  }
  // A failed commit left the file, and so the readers' view, as it was.
  Result<FileStamp> stamp = StampOf(path_);
  if (stamp.ok()) known_stamp_ = *stamp;
  if (watcher_) watcher_->EndOwnWrite();
  if (!written.ok()) return written;
  return read;
}

Status VersionedFileImpl::Rewrite(const std::function<Status()>& write) {
  if (access_ != Access::kReadWrite) return Status::ReadOnly(path_ + ": opened read-only");
  // `write` takes the file's flock (waiting, as Commit does) and opens it
  // for writing: the watcher meets it as another process's write.
  Status written = write();
  if (watcher_ && !watcher_->WaitForNoWriter(options_.commit_wait) && written.ok())
    return Status::Busy(path_ + ": another process has been writing it for " +
                        std::to_string(options_.commit_wait.count() / 1000) + " s");
  // Taken in before returning, leases or not.
  Status absorbed = AbsorbBehindGate();
  if (!written.ok()) return written;
  return absorbed;
}

Result<std::shared_ptr<const Version>> VersionedFileImpl::WalkTree(const VersionInfo& info) const {
  if (std::shared_ptr<const Version> hit =
          MemoryCache::Process().Get<Version>(trees_owner_, info.name);
      hit && hit->info().timestamp == info.timestamp)
    return hit;
  return LoadTree(info);
}

Result<VersionedFileImpl::NodeFingerprint> VersionedFileImpl::FingerprintsFromBytes() const {
  std::shared_ptr<FileCore> core = Core();
  if (!core || !core->fd) return Status::Unsupported("no descriptor to read the file's bytes");
  std::unordered_map<std::string, uint64_t> groups;
  unsigned internal_k = 0, leaf_k = 0;
  auto bytes = std::make_shared<std::optional<FileBytes>>();
  std::shared_ptr<BlockCachedFile> cached;  // what `bytes` reads through
  {
    DiskRead disk(core->access, DiskRead::Kind::kMetadata, core->path + ": versions");
    VH5_RETURN_IF_ERROR(disk.status());
    VH5_ASSIGN_OR_RETURN(h5::Handle versions,
                         OpenCheckedGroup(core->file.get(), layout::kVersionsGroup));
    VH5_ASSIGN_OR_RETURN(std::vector<HardLink> links, AddressedHardLinks(versions.get()));
    for (HardLink& link : links) groups.emplace(std::move(link.name), link.address);
    h5::Handle fcpl(H5Fget_create_plist(core->file.get()));
    if (!fcpl || H5Pget_sym_k(fcpl.get(), &internal_k, &leaf_k) < 0)
      return h5::Error("cannot read the file's B-tree sizes");
    struct stat st;
    if (::fstat(core->fd->get(), &st) != 0) return ErrnoStatus(core->path + ": fstat");
    cached = std::make_shared<BlockCachedFile>(core->fd->get(), static_cast<uint64_t>(st.st_size));
    VH5_ASSIGN_OR_RETURN(FileBytes of, FileBytes::Of(core->file.get(), cached.get()));
    bytes->emplace(std::move(of));
  }
  auto reader = std::make_shared<NodeFingerprints>(**bytes, internal_k, leaf_k);
  return NodeFingerprint([core, groups = std::move(groups), cached, bytes, reader](
                             const VersionInfo& info, const std::vector<std::string>& paths,
                             Fingerprints* out) -> Status {
    reader->Forget();  // another version: other objects
    out->assign(paths.size(), std::nullopt);
    auto group = groups.find(info.name);
    if (group == groups.end()) return Status::OK();
    std::string context = core->path + ": version " + info.name;
    DiskRead disk(core->access, DiskRead::Kind::kMetadata, context);
    VH5_RETURN_IF_ERROR(disk.status());
    for (size_t k = 0; k < paths.size(); ++k) {
      Result<std::optional<std::string>> fp = reader->Of(group->second, paths[k]);
      if (!fp.ok()) return fp.status().WithContext(context + ": " + paths[k]);
      (*out)[k] = std::move(*fp);
    }
    return Status::OK();
  });
}

VersionedFileImpl::NodeFingerprint VersionedFileImpl::FingerprintsFromTrees() const {
  return [this](const VersionInfo& info, const std::vector<std::string>& paths,
                Fingerprints* out) -> Status {
    out->assign(paths.size(), std::nullopt);
    VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Version> tree, WalkTree(info));
    for (size_t k = 0; k < paths.size(); ++k) {
      VH5_ASSIGN_OR_RETURN((*out)[k], Fingerprint(*tree, paths[k]));
    }
    return Status::OK();
  };
}

Status VersionedFileImpl::WalkOwnChanges(const std::string& version,
                                         const std::vector<std::string>& paths) const {
  // From the file's bytes: a hundred times faster than through each
  // version's tree, which remains for what that reader declines. Two
  // readers, on two threads, where there are two cores.
  std::vector<NodeFingerprint> raw;
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kWalkThreads);
  for (size_t k = 0; k < threads; ++k) {
    Result<NodeFingerprint> reader = FingerprintsFromBytes();
    if (!reader.ok()) break;
    raw.push_back(std::move(*reader));
  }
  if (!raw.empty()) {
    Status walked = WalkOwnChangesWith(version, paths, raw);
    // What that reader declines, or finds broken, HDF5 reads (or says why not).
    if (walked.code() != Status::Code::kUnsupported && walked.code() != Status::Code::kCorruption)
      return walked;
  }
  return WalkOwnChangesWith(version, paths, {FingerprintsFromTrees()});
}

Status VersionedFileImpl::WalkOwnChangesWith(const std::string& version,
                                             const std::vector<std::string>& paths,
                                             const std::vector<NodeFingerprint>& readers) const {
  auto key = [this](const std::string& v, const std::string& p)
                 REQUIRES(times_mu_) { return times_.Key(NodeTimes::Kind::kOwn, v, p); };
  struct Pending {
    std::string path;
    std::string fp;
    std::vector<uint64_t> walked;  // keys of the versions the answer holds for
    size_t column = 0;             // its fingerprints' in a round's table
    uint64_t path_id = 0;          // times_'s, while its generation is ids_generation
    std::optional<uint64_t> ids_generation;
  };
  std::vector<Pending> pending;
  VH5_ASSIGN_OR_RETURN(VersionInfo info, GetVersionInfo(version));
  std::vector<std::string> unknown;
  {
    MutexLock lock(&times_mu_);
    for (const std::string& path : paths)
      if (!times_.Find(key(version, path))) unknown.push_back(path);
  }
  Fingerprints now;
  VH5_RETURN_IF_ERROR(readers[0](info, unknown, &now));
  for (size_t k = 0; k < unknown.size(); ++k)
    if (now[k]) {
      Pending node;
      node.path = std::move(unknown[k]);
      node.fp = std::move(*now[k]);
      pending.push_back(std::move(node));
    }
  // Settled only once the whole walk succeeded: a walk that gives up half
  // way (Unsupported) leaves nothing for another way of walking to trust.
  std::vector<std::pair<uint64_t, int64_t>> settled;
  auto settle = [&](Pending& p, int64_t ns) {
    for (uint64_t k : p.walked) settled.emplace_back(k, ns);
  };
  size_t limit = ListVersionNames().size() + 1;  // a prev_version cycle ends here
  size_t steps = 0;
  // Versions are read ahead in rounds, each reader a share of a round:
  // small at first (most nodes changed lately), growing while nodes remain.
  size_t round = kWalkFirstRound;
  while (!pending.empty()) {
    // The versions ahead along prev_version, as far as this round goes.
    std::vector<VersionInfo> ahead;
    ahead.reserve(round * readers.size());
    for (const VersionInfo* at = &info; ahead.size() < round * readers.size();) {
      const std::string& prev = at->prev_version;
      if (prev.empty() || prev == kFirstVersionName || steps + ahead.size() >= limit) break;
      Result<VersionInfo> prev_info = GetVersionInfo(prev);
      if (!prev_info.ok()) {
        if (!prev_info.status().IsNotFound()) return prev_info.status();
        break;
      }
      ahead.push_back(std::move(*prev_info));
      at = &ahead.back();
    }
    // Each pending node's fingerprint in each version ahead: reader k reads
    // the k-th share of the versions.
    std::vector<std::string> columns;
    for (size_t p = 0; p < pending.size(); ++p) {
      pending[p].column = p;
      columns.push_back(pending[p].path);
    }
    std::vector<Fingerprints> fps(ahead.size());
    size_t share = (ahead.size() + readers.size() - 1) / std::max<size_t>(readers.size(), 1);
    size_t shares = share == 0 ? 1 : (ahead.size() + share - 1) / share;
    VH5_RETURN_IF_ERROR(RunShares(shares, [&](size_t k) -> Status {
      for (size_t j = k * share; j < std::min(ahead.size(), (k + 1) * share); ++j) {
        VH5_RETURN_IF_ERROR(readers[k](ahead[j], columns, &fps[j]));
      }
      return Status::OK();
    }));

    // Then each version in turn, as one walk would.
    for (size_t j = 0; j <= ahead.size() && !pending.empty(); ++j, ++steps) {
      const VersionInfo* prev_info = j < ahead.size() ? &ahead[j] : nullptr;
      if (j == ahead.size() && ahead.size() == round * readers.size()) break;  // next round
      std::vector<Pending> next;
      // Each node's key here, and its time in the version before if known.
      std::vector<std::optional<int64_t>> known(pending.size());
      {
        MutexLock lock(&times_mu_);
        times_.Reserve(pending.size() + 2);
        uint64_t here = times_.VersionId(info.name);
        uint64_t before = prev_info ? times_.VersionId(prev_info->name) : 0;
        for (size_t p = 0; p < pending.size(); ++p) {
          Pending& node = pending[p];
          if (node.ids_generation != times_.generation()) {
            node.path_id = times_.PathId(node.path);
            node.ids_generation = times_.generation();
          }
          node.walked.push_back(times_.KeyOf(NodeTimes::Kind::kOwn, here, node.path_id));
          if (prev_info)
            known[p] = times_.Find(times_.KeyOf(NodeTimes::Kind::kOwn, before, node.path_id));
        }
      }
      for (size_t p = 0; p < pending.size(); ++p) {
        Pending& node = pending[p];
        const std::optional<std::string>* prev_fp = prev_info ? &fps[j][node.column] : nullptr;
        if (!prev_fp || !*prev_fp || **prev_fp != node.fp || node.fp.empty()) {
          settle(node, info.timestamp_ns);  // changed here (or made here)
        } else if (known[p]) {
          settle(node, *known[p]);
        } else {
          next.push_back(std::move(node));
        }
      }
      pending = std::move(next);
      if (!pending.empty() && prev_info) info = *prev_info;
    }
    round = std::min(round * 2, kWalkLastRound);
  }
  MutexLock lock(&times_mu_);
  times_.Grow(settled.size());
  for (auto& [k, ns] : settled) times_.Set(k, ns);
  return Status::OK();
}

Result<int64_t> VersionedFileImpl::ChangedAtNs(const std::string& version,
                                               const std::string& path) const {
  // Keys are made at each look: NodeTimes may forget its ids between two.
  auto find = [&](NodeTimes::Kind k) {
    MutexLock lock(&times_mu_);
    return times_.Find(times_.Key(k, version, path));
  };
  if (std::optional<int64_t> known = find(NodeTimes::Kind::kWithChildren)) return *known;
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Version> tree, GetVersion(version));
  VH5_ASSIGN_OR_RETURN(NodeKind kind, tree->Kind(path));
  if (!find(NodeTimes::Kind::kOwn)) {
    // With its siblings: ls -l asks for each of them next.
    std::vector<std::string> paths{path};
    if (!path.empty()) {
      std::string parent = ParentPath(path);
      VH5_ASSIGN_OR_RETURN(std::vector<DirEntry> siblings, tree->List(parent));
      paths.clear();
      for (const DirEntry& e : siblings)
        paths.push_back(parent.empty() ? e.name : parent + "/" + e.name);
    }
    VH5_RETURN_IF_ERROR(WalkOwnChanges(version, paths));
  }
  int64_t ns = 0;
  for (int attempt = 1;; ++attempt) {
    if (std::optional<int64_t> own = find(NodeTimes::Kind::kOwn)) {
      ns = *own;
      break;
    }
    // Forgotten since (NodeTimes keeps a bounded number): this one alone.
    if (attempt == 2) return Status::NotFound(path_ + ": version " + version + ": " + path);
    VH5_RETURN_IF_ERROR(WalkOwnChanges(version, {path}));
  }
  if (kind == NodeKind::kGroup) {
    // The newest of its own change and its children's.
    VH5_ASSIGN_OR_RETURN(std::vector<DirEntry> children, tree->List(path));
    for (const DirEntry& e : children) {
      VH5_ASSIGN_OR_RETURN(int64_t child,
                           ChangedAtNs(version, path.empty() ? e.name : path + "/" + e.name));
      ns = std::max(ns, child);
    }
  }
  MutexLock lock(&times_mu_);
  times_.Set(times_.Key(NodeTimes::Kind::kWithChildren, version, path), ns);
  return ns;
}

std::vector<std::string> VersionedFileImpl::ListVersionNames() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const std::string& name : names_) {
    auto it = infos_.find(name);
    if (it == infos_.end() || it->second) out.push_back(name);
  }
  return out;
}

std::vector<VersionInfo> VersionedFileImpl::ListVersions() const {
  std::vector<VersionInfo> out;
  for (const std::string& name : ListVersionNames()) {
    Result<VersionInfo> info = GetVersionInfo(name);
    if (info.ok()) out.push_back(std::move(*info));
  }
  return out;
}

Result<VersionInfo> VersionedFileImpl::GetVersionInfo(const std::string& name) const {
  {
    MutexLock lock(&mu_);
    if (!names_.count(name)) return Status::NotFound(path_ + ": no version " + name);
    auto it = infos_.find(name);
    if (it != infos_.end()) {
      if (!it->second) return Status::NotFound(path_ + ": no version " + name);
      return *it->second;
    }
  }
  // A listing (ls -l versions, at/, prev/) asks for every version in turn:
  // after a few, the rest are read in one pass, a third of the time each.
  std::set<std::string> wanted;
  {
    MutexLock lock(&mu_);
    if (++info_misses_ >= kMissesBeforeOnePass && !infos_pass_running_) {
      for (const std::string& n : names_)
        if (!infos_.count(n)) wanted.insert(n);
      if (wanted.size() >= kMissesBeforeOnePass) {
        infos_pass_running_ = true;
        info_misses_ = 0;
      } else {
        wanted.clear();
      }
    }
  }
  if (!wanted.empty()) {
    std::shared_ptr<FileCore> core = Core();
    Result<std::map<std::string, std::optional<VersionInfo>>> read = ReadInfosFrom(*core, wanted);
    MutexLock lock(&mu_);
    infos_pass_running_ = false;
    // Read through the current core only: a refresh may have begun since.
    if (read.ok() && core == core_) {
      for (auto& [n, info] : *read)
        if (names_.count(n)) infos_.emplace(n, std::move(info));
    }
    if (auto it = infos_.find(name); it != infos_.end()) {
      if (!it->second) return Status::NotFound(path_ + ": no version " + name);
      return *it->second;
    }
  }
  Result<std::optional<VersionInfo>> read = ReadInfo(name);
  if (!read.ok()) return read.status().WithContext(path_);
  MutexLock lock(&mu_);
  auto it = infos_.emplace(name, std::move(*read)).first;
  if (!it->second) return Status::NotFound(path_ + ": no version " + name);
  return *it->second;
}

Result<std::shared_ptr<const Version>> VersionedFileImpl::LoadTree(const VersionInfo& info) const {
  for (int attempt = 1;; ++attempt) {
    Result<std::shared_ptr<VersionTree>> tree = VersionTree::Load(Core(), info);
    if (tree.ok()) return std::shared_ptr<const Version>(std::move(*tree));
    // A refresh between taking the core and reading it: once more.
    if (tree.status().code() != Status::Code::kStale || attempt == 3) return tree.status();
  }
}

Result<std::shared_ptr<const Version>> VersionedFileImpl::GetVersion(
    const std::string& name) const {
  VH5_ASSIGN_OR_RETURN(VersionInfo info, GetVersionInfo(name));
  MemoryCache& cache = MemoryCache::Process();
  if (std::shared_ptr<const Version> hit = cache.Get<Version>(trees_owner_, name);
      hit && hit->info().timestamp == info.timestamp)
    return hit;
  // Loaded outside mu_: a commit must not wait on a tree walk.
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Version> tree, LoadTree(info));
  // Loads the tree again after another process changed the file; Stale
  // when the version is gone (or another one took its name).
  std::weak_ptr<const VersionedFileImpl> weak = shared_from_this();
  LiveVersion::Loader loader = [weak, info]() -> Result<std::shared_ptr<const Version>> {
    std::shared_ptr<const VersionedFileImpl> file = weak.lock();
    if (!file) return Status::Stale("version " + info.name + ": its file was closed");
    Result<VersionInfo> now = file->GetVersionInfo(info.name);
    if (!now.ok() || now->timestamp != info.timestamp)
      return Status::Stale(file->path() + ": version " + info.name +
                           " was deleted by another process");
    return file->LoadTree(*now);
  };
  auto* walked = dynamic_cast<const VersionTree*>(tree.get());
  uint64_t bytes = sizeof(LiveVersion) + (walked ? walked->MemoryBytes() : 0);
  std::shared_ptr<const Version> live =
      std::make_shared<LiveVersion>(std::move(tree), std::move(loader));
  cache.Insert(trees_owner_, name, live, bytes);
  return live;
}

}  // namespace

void VersionedFile::SetCacheBudget(uint64_t bytes) { MemoryCache::Process().SetCapacity(bytes); }
uint64_t VersionedFile::CacheBudget() { return MemoryCache::Process().capacity(); }
uint64_t VersionedFile::CachedBytes() { return MemoryCache::Process().bytes(); }

Result<std::shared_ptr<VersionedFile>> VersionedFile::Open(const std::string& path, Access access,
                                                           const OpenOptions& options) {
  return VersionedFileImpl::Open(path, access, options);
}

}  // namespace vh5
