// Durable staging (doc/staging.md): a Staging's state kept beside its
// versioned file in ".<name>.vh5-staging/": "log", the records of every
// change (staging_records.h), and "pages", the scratch pages the datasets'
// page tables name. Here: writing the log, rewriting it whole (a snapshot
// of the tree, then records again), replaying it at Open(), and what a
// commit, a discard and a rebase do to it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>

#include "fd.h"
#include "posix_file.h"
#include "record_log.h"
#include "scratch_file.h"
#include "staged_content.h"
#include "staging_node.h"
#include "staging_records.h"
#include "vh5/staging.h"
#include "vh5/timestamp.h"
#include "vh5/versioned_file.h"

namespace vh5 {
namespace {

constexpr char kLogName[] = "/log";
constexpr char kLogTmpName[] = "/log.tmp";
constexpr char kPagesName[] = "/pages";
// The log is rewritten whole once it is this large and this many times the
// size of its last whole rewrite: the rewrites cost O(1) per record.
constexpr uint64_t kCompactMinBytes = 4 << 20;
constexpr uint64_t kCompactRatio = 4;
// A rewrite hands its records to the file in pieces of about this size.
constexpr uint64_t kRewritePiece = 1 << 20;

// UTC, for names of files set aside: "20240101T130000Z".
std::string Stamp() {
  std::time_t now = std::time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Deletes a state: its log first, for without a log the rest is no state.
Status RemoveState(const std::string& dir) {
  if (::unlink((dir + kLogName).c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus("cannot delete " + dir + kLogName);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::IOError("cannot delete " + dir + ": " + ec.message());
  return SyncDir(DirName(dir));
}

// Moves a state that cannot be used out of the way, whole; its new name.
Result<std::string> SetAside(const std::string& dir) {
  std::string aside = dir + ".broken-" + Stamp();
  for (int n = 2; Exists(aside); ++n) aside = dir + ".broken-" + Stamp() + "-" + std::to_string(n);
  if (::rename(dir.c_str(), aside.c_str()) != 0) return ErrnoStatus("cannot rename " + dir);
  VH5_RETURN_IF_ERROR(SyncDir(DirName(dir)));
  return aside;
}

// Copies the bytes of `path` from `offset` on into a new file `to`.
Status CopyTail(const std::string& path, uint64_t offset, uint64_t end, const std::string& to) {
  std::string tail(static_cast<size_t>(end - offset), '\0');
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid() || PreadAll(in.get(), tail.data(), tail.size(), offset) < 0)
    return ErrnoStatus(path);
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) return ErrnoStatus(to);
  VH5_RETURN_IF_ERROR(PwriteAll(out.get(), tail.data(), tail.size(), 0, to));
  if (::fsync(out.get()) != 0) return ErrnoStatus(to + ": fsync");
  return Status::OK();
}

}  // namespace

std::string Staging::StateDir(const std::string& file_path) {
  return SiblingPath(file_path, ".vh5-staging");
}

Result<std::optional<std::string>> Staging::PersistedBase(const std::string& file_path) {
  std::string log = StateDir(file_path) + kLogName;
  if (!Exists(log)) return std::optional<std::string>();
  VH5_ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Open(log));
  uint8_t type = 0;
  std::string payload;
  VH5_ASSIGN_OR_RETURN(bool any, reader.Next(&type, &payload));
  HeaderRecord header;
  if (!any || type != static_cast<uint8_t>(RecordType::kHeader))
    return Status::Corruption(log + ": does not start with a header");
  VH5_RETURN_IF_ERROR(Decode(payload, &header).WithContext(log));
  return std::optional<std::string>(header.base);
}

Staging::Staging(std::shared_ptr<const Version> base, std::string state_dir, bool mirror)
    : base_(std::move(base)),
      scratch_(std::make_shared<ScratchFile>(ScratchFile::Named{}, state_dir + kPagesName)),
      base_name_(base_ ? base_->info().name : kFirstVersionName),
      root_(std::make_unique<Node>()),
      state_dir_(std::move(state_dir)),
      log_(std::make_unique<RecordWriter>()) {
  if (mirror) {
    MirrorBase();
  } else {
    root_->from_base = base_ != nullptr;
    if (!base_) root_->attrs = Attributes{};
  }
  scratch_->SetReclaim([this] { return ReclaimScratch(); });
}

// A durable staging leaves its state synced; every scratch page goes with
// the object (an unnamed file) or stays for the next Open() (a named one).
Staging::~Staging() {
  if (durable()) (void)Sync();
  scratch_->Abandon();
}

void Staging::Reset(std::shared_ptr<const Version> base) {
  // The old tree's pages go with its state: nothing to punch out.
  scratch_->Abandon();
  root_.reset();
  base_ = std::move(base);
  base_name_ = base_ ? base_->info().name : kFirstVersionName;
  if (durable()) {
    scratch_ = std::make_shared<ScratchFile>(ScratchFile::Named{}, state_dir_ + kPagesName);
    scratch_->SetReclaim([this] { return ReclaimScratch(); });
    log_->Close();
  } else {
    scratch_ = std::make_shared<ScratchFile>(scratch_dir_);
  }
  MirrorBase();
  changed_ = false;
  need_state_ = stale_ = sync_pages_ = false;
  snapshot_bytes_ = 0;
  committing_.clear();
  committing_timestamp_.clear();
}

namespace {

// A record of a change to the tree: after one, an earlier "committing as"
// no longer stands for the state (that commit did not hold this change).
bool ChangesTree(uint8_t type) {
  return type != static_cast<uint8_t>(RecordType::kCommitting) &&
         type != static_cast<uint8_t>(RecordType::kSettings) &&
         type != static_cast<uint8_t>(RecordType::kHeader);
}

}  // namespace

void Staging::Log(uint8_t type, std::string payload) {
  if (!durable() || replaying_) return;
  if (ChangesTree(type)) {
    committing_.clear();
    committing_timestamp_.clear();
  }
  if (!log_->is_open()) {
    need_state_ = true;  // Persist() writes the state whole
    return;
  }
  log_->Add(type, payload);
}

void Staging::LogDataset(std::string_view path, Node* node) {
  if (!durable() || replaying_) return;
  DatasetRecord r;
  r.path = std::string(path);
  r.info = *node->info;
  r.info.attrs.clear();
  r.is_new = node->is_new;
  r.auto_chunks = node->auto_chunks;
  r.aligned_with_base = node->aligned_with_base;
  if (node->content) {
    r.content = node->content_new ? node->content->Whole() : node->content->Unsaved();
    node->content->MarkSaved();
    node->content_new = false;
    // The pages it names reach the disk before it does.
    if (!r.content->runs.empty()) sync_pages_ = true;
  }
  node->dataset_logged = true;
  Log(static_cast<uint8_t>(RecordType::kDataset), Encode(r));
}

void Staging::LogAttributes(std::string_view path, Node* node) {
  if (!durable() || replaying_) return;
  node->attrs_logged = true;
  Log(static_cast<uint8_t>(RecordType::kAttributes),
      Encode(AttributesRecord{std::string(path), *node->attrs}));
}

Status Staging::Persist(bool sync) {
  if (!durable() || replaying_) return Status::OK();
  if (stale_ || !log_->is_open()) {
    if (!stale_ && !need_state_) return Status::OK();  // nothing to keep yet
    return Compact();
  }
  VH5_RETURN_IF_ERROR(WriteLog(sync));
  // Best effort: a failed rewrite leaves the log as it was, still whole.
  if (log_->size() > std::max(kCompactMinBytes, kCompactRatio * snapshot_bytes_)) (void)Compact();
  return Status::OK();
}

Status Staging::EnsureState() {
  if (!durable() || replaying_ || log_->is_open()) return Status::OK();
  return Compact();
}

Status Staging::WriteLog(bool sync) {
  if (sync_pages_ && log_->has_buffered()) {
    if (Status s = scratch_->Sync(); !s.ok()) {
      stale_ = true;  // the buffered records are dropped: the next Persist rewrites
      log_->Close();
      return s;
    }
    sync_pages_ = false;
  }
  if (Status s = log_->Write(); !s.ok()) {
    stale_ = true;
    return s;
  }
  if (!sync) return Status::OK();
  if (Status s = log_->Sync(); !s.ok()) {
    stale_ = true;
    return s;
  }
  // Pages only the records before this point dropped are free now.
  scratch_->Synced();
  return Status::OK();
}

bool Staging::ReclaimScratch() {
  if (!durable() || replaying_ || stale_ || !log_->is_open()) return false;
  return WriteLog(true).ok();
}

Status Staging::Sync() {
  if (!durable()) return Status::OK();
  return Persist(true);
}

Status Staging::Compact() {
  // The pages the snapshot names reach the disk before it does.
  VH5_RETURN_IF_ERROR(scratch_->Sync());
  if (::mkdir(state_dir_.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus("cannot create the staging state " + state_dir_);
  std::string tmp = state_dir_ + kLogTmpName;
  VH5_ASSIGN_OR_RETURN(RecordWriter w, RecordWriter::Create(tmp));
  auto add = [&w](RecordType type, std::string payload) -> Status {
    w.Add(static_cast<uint8_t>(type), payload);
    return w.size() > kRewritePiece ? w.Write() : Status::OK();
  };
  Status s = add(RecordType::kHeader,
                 Encode(HeaderRecord{base_name_, base_ ? base_->info().timestamp : "", changed_}));
  if (s.ok() && (!commit_timestamp_.empty() || !make_current_))
    s = add(RecordType::kSettings, Encode(SettingsRecord{commit_timestamp_, make_current_}));
  // The tree, parents before children; what a node has of its own follows it.
  std::vector<std::pair<Node*, std::string>> pending;
  if (changed_) pending.push_back({root_.get(), ""});
  while (s.ok() && !pending.empty()) {
    auto [node, path] = pending.back();
    pending.pop_back();
    if (!path.empty())
      s = add(RecordType::kPlace,
              Encode(PlaceRecord{path, node->kind, node->from_base, node->origin}));
    if (s.ok() && node->attrs_logged)
      s = add(RecordType::kAttributes, Encode(AttributesRecord{path, *node->attrs}));
    if (s.ok() && node->kind == NodeKind::kDataset &&
        (node->is_new || node->dataset_logged || node->content)) {
      DatasetRecord r;
      r.path = path;
      r.info = *node->info;
      r.info.attrs.clear();
      r.is_new = node->is_new;
      r.auto_chunks = node->auto_chunks;
      r.aligned_with_base = node->aligned_with_base;
      if (node->content) r.content = node->content->Whole();
      s = add(RecordType::kDataset, Encode(r));
    }
    for (auto it = node->children.rbegin(); it != node->children.rend(); ++it)
      pending.push_back({it->second.get(), path.empty() ? it->first : path + "/" + it->first});
  }
  if (s.ok() && !committing_.empty())
    s = add(RecordType::kCommitting, Encode(CommittingRecord{committing_, committing_timestamp_}));
  if (s.ok()) s = w.Write();
  if (s.ok()) s = w.Sync();
  if (s.ok() && ::rename(tmp.c_str(), (state_dir_ + kLogName).c_str()) != 0)
    s = ErrnoStatus("cannot rename " + tmp);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  uint64_t size = w.size();
  w.Close();
  // The log is the snapshot now: every node is saved as it stands.
  pending.push_back({root_.get(), ""});
  while (!pending.empty()) {
    Node* node = pending.back().first;
    pending.pop_back();
    if (node->content) {
      node->content->MarkSaved();
      node->content_new = false;
      node->dataset_logged = true;
    }
    for (auto& [name, child] : node->children) pending.push_back({child.get(), ""});
  }
  need_state_ = stale_ = sync_pages_ = false;
  snapshot_bytes_ = size;
  Result<RecordWriter> appender = RecordWriter::Append(state_dir_ + kLogName, size);
  if (!appender.ok()) {
    stale_ = true;
    return appender.status();
  }
  *log_ = std::move(*appender);
  // The rename, and the state directory itself, made durable.
  VH5_RETURN_IF_ERROR(SyncDir(state_dir_));
  VH5_RETURN_IF_ERROR(SyncDir(DirName(state_dir_)));
  scratch_->Synced();
  return Status::OK();
}

Status Staging::SetCommitTimestamp(const std::string& timestamp) {
  if (!timestamp.empty() && !ParseTimestamp(timestamp))
    return Status::InvalidArgument("staging: not a timestamp: " + timestamp);
  commit_timestamp_ = timestamp;
  Log(static_cast<uint8_t>(RecordType::kSettings),
      Encode(SettingsRecord{commit_timestamp_, make_current_}));
  return Persist(false);
}

Status Staging::SetMakeCurrent(bool make_current) {
  make_current_ = make_current;
  Log(static_cast<uint8_t>(RecordType::kSettings),
      Encode(SettingsRecord{commit_timestamp_, make_current_}));
  return Persist(false);
}

Status Staging::Rebase(std::shared_ptr<const Version> base) {
  if (changed_) return Status::Busy("staging: rebasing while staging holds changes");
  std::string timestamp = commit_timestamp_;
  bool make_current = make_current_;
  Reset(std::move(base));
  commit_timestamp_ = timestamp;
  make_current_ = make_current;
  if (!durable()) return Status::OK();
  // The new base replaces the old one in the log at once.
  need_state_ = true;
  return Compact();
}

Status Staging::Discard(bool keep_base) {
  Status removed = durable() ? RemoveState(state_dir_) : Status::OK();
  Reset(base_);
  commit_timestamp_.clear();
  make_current_ = true;
  if (durable() && (keep_base || !removed.ok())) {
    // A state of the base alone replaces whatever is left.
    need_state_ = true;
    return Compact();
  }
  return removed;
}

Status Staging::BeginCommit(NewVersion* version) {
  // Fixed now, so that the record names the very version the commit makes.
  if (version->timestamp.empty()) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    version->timestamp =
        FormatTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  }
  // No state, nothing a crash could bring back.
  if (!durable() || (!log_->is_open() && !need_state_ && !stale_)) return Status::OK();
  committing_ = version->name;
  committing_timestamp_ = version->timestamp;
  Log(static_cast<uint8_t>(RecordType::kCommitting),
      Encode(CommittingRecord{committing_, committing_timestamp_}));
  return Persist(true);
}

Status Staging::EndCommit(bool committed, std::shared_ptr<const Version> new_base) {
  if (!committed) {
    if (committing_.empty()) return Status::OK();
    committing_.clear();
    committing_timestamp_.clear();
    Log(static_cast<uint8_t>(RecordType::kCommitting), Encode(CommittingRecord{"", ""}));
    return Persist(true);
  }
  // A crash before the state is gone leaves "committing as": Open() drops it.
  Status removed = durable() ? RemoveState(state_dir_) : Status::OK();
  Reset(std::move(new_base));
  commit_timestamp_.clear();
  make_current_ = true;
  return removed;
}

Status Staging::Replay(uint8_t type, const std::string& payload) {
  if (ChangesTree(type)) {
    committing_.clear();
    committing_timestamp_.clear();
  }
  switch (static_cast<RecordType>(type)) {
    case RecordType::kHeader:
      return Status::Corruption("a second header");
    case RecordType::kPlace: {
      PlaceRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      if (!r.from_base) return r.kind == NodeKind::kGroup ? Mkdir(r.path) : CreateDataset(r.path);
      if (!base_) return Status::Corruption("a node of the base, and no base");
      std::string leaf;
      VH5_ASSIGN_OR_RETURN(Node * parent, Parent(r.path, &leaf));
      if (parent->children.count(leaf)) return Status::Corruption("/" + r.path + " placed twice");
      auto node = std::make_unique<Node>();
      node->kind = r.kind;
      node->from_base = true;
      node->origin = r.origin;
      parent->children.emplace(leaf, std::move(node));
      changed_ = true;
      return Status::OK();
    }
    case RecordType::kRemove: {
      PathRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      VH5_ASSIGN_OR_RETURN(NodeKind kind, Kind(r.from));
      return kind == NodeKind::kGroup ? Rmdir(r.from) : Unlink(r.from);
    }
    case RecordType::kMove: {
      PathRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      return Rename(r.from, r.to);
    }
    case RecordType::kAttributes: {
      AttributesRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      VH5_ASSIGN_OR_RETURN(Node * node, Find(r.path));
      node->attrs = std::move(r.attrs);
      node->attrs_logged = true;
      changed_ = true;
      return Status::OK();
    }
    case RecordType::kDataset: {
      DatasetRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      VH5_ASSIGN_OR_RETURN(Node * node, Find(r.path));
      if (node->kind != NodeKind::kDataset) return Status::Corruption("/" + r.path + " is a group");
      const DatasetInfo& info = r.info;
      if (info.shape.empty() || (!info.dtype.is_vlen_string && info.dtype.itemsize == 0))
        return Status::Corruption("/" + r.path + ": no shape or no element size");
      Attributes attrs = node->info->attrs;
      node->info = info;
      node->info->attrs = std::move(attrs);
      node->is_new = r.is_new;
      node->auto_chunks = r.auto_chunks;
      node->aligned_with_base = r.aligned_with_base;
      node->valid_shape = info.shape;
      node->dataset_logged = true;
      changed_ = true;
      if (!r.content) return Status::OK();
      const ContentRecord& c = *r.content;
      switch (c.origin) {
        case ContentRecord::Origin::kOnBase:
          if (!node->base_dataset) return Status::Corruption("/" + r.path + " has no base");
          node->content = std::make_shared<StagedContent>(node->base_dataset, scratch_,
                                                          info.fill_bytes, c.compare_with_base);
          break;
        case ContentRecord::Origin::kEmpty:
          node->content =
              std::make_shared<StagedContent>(nullptr, scratch_, info.fill_bytes, false);
          break;
        case ContentRecord::Origin::kSame:
          if (!node->content) return Status::Corruption("/" + r.path + " has no content yet");
          node->content->SetFill(info.fill_bytes);
          break;
      }
      return node->content->Restore(c).WithContext("/" + r.path);
    }
    case RecordType::kSettings: {
      SettingsRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      commit_timestamp_ = r.timestamp;
      make_current_ = r.make_current;
      return Status::OK();
    }
    case RecordType::kCommitting: {
      CommittingRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      committing_ = r.name;
      committing_timestamp_ = r.timestamp;
      return Status::OK();
    }
  }
  return Status::Corruption("a record of unknown type " + std::to_string(type));
}

Status Staging::AdoptPages() {
  std::vector<uint64_t> pages;
  std::vector<const Node*> pending = {root_.get()};
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    if (node->content) node->content->CheckpointPages(&pages);
    for (const auto& [name, child] : node->children) pending.push_back(child.get());
  }
  std::sort(pages.begin(), pages.end());
  auto twice = std::adjacent_find(pages.begin(), pages.end());
  if (twice != pages.end())
    return Status::Corruption("scratch page " + std::to_string(*twice) + " held twice");
  return scratch_->Adopt(pages);
}

Result<std::unique_ptr<Staging>> Staging::Open(const VersionedFile& file, std::string* note) {
  note->clear();
  std::string dir = StateDir(file.path());
  auto fresh = [&]() -> Result<std::unique_ptr<Staging>> {
    std::shared_ptr<const Version> base;
    if (std::optional<std::string> current = file.CurrentVersion()) {
      VH5_ASSIGN_OR_RETURN(base, file.GetVersion(*current));
    }
    return std::unique_ptr<Staging>(new Staging(std::move(base), dir, /*mirror=*/true));
  };
  std::string log = dir + kLogName;
  if (!Exists(log)) {
    // Made or deleted part way when a crash came: without a log, no state.
    if (Exists(dir)) VH5_RETURN_IF_ERROR(RemoveState(dir));
    return fresh();
  }
  std::unique_ptr<Staging> staging;
  std::string committed_as;
  Status s = [&]() -> Status {
    VH5_ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Open(log));
    uint8_t type = 0;
    std::string payload;
    VH5_ASSIGN_OR_RETURN(bool any, reader.Next(&type, &payload));
    HeaderRecord header;
    if (!any || type != static_cast<uint8_t>(RecordType::kHeader))
      return Status::Corruption("the log does not start with a header");
    VH5_RETURN_IF_ERROR(Decode(payload, &header));
    std::shared_ptr<const Version> base;
    if (header.base != kFirstVersionName) {
      // Deleted offline (vh5 delete) while the state waited, perhaps made again.
      Result<std::shared_ptr<const Version>> found = file.GetVersion(header.base);
      if (!found.ok() && found.status().code() == Status::Code::kNotFound)
        return Status::NotFound("its base version " + header.base + " is no longer in " +
                                file.path());
      if (!found.ok())
        return Status::NotFound("its base version " + header.base +
                                " cannot be read: " + found.status().message());
      base = *found;
      if (base->info().timestamp != header.base_timestamp)
        return Status::NotFound("its base version " + header.base + " of " + header.base_timestamp +
                                " was replaced by one of " + base->info().timestamp);
    }
    staging.reset(new Staging(std::move(base), dir, !header.explicit_tree));
    staging->replaying_ = true;
    staging->scratch_->Abandon();  // releases during replay are no-ops: Adopt decides
    staging->changed_ = header.explicit_tree;
    for (;;) {
      uint64_t at = reader.valid_end();
      VH5_ASSIGN_OR_RETURN(bool more, reader.Next(&type, &payload));
      if (!more) break;
      Status replayed = staging->Replay(type, payload);
      if (!replayed.ok())
        return Status::Corruption("the record at byte " + std::to_string(at) + ": " +
                                  replayed.message());
    }
    if (!staging->committing_.empty()) {
      Result<VersionInfo> info = file.GetVersionInfo(staging->committing_);
      if (info.ok() && info->prev_version == staging->base_name_ &&
          info->timestamp == staging->committing_timestamp_) {
        committed_as = staging->committing_;
        return Status::OK();
      }
    }
    VH5_RETURN_IF_ERROR(staging->AdoptPages());
    staging->replaying_ = false;
    // That commit failed: its version is not there.
    staging->committing_.clear();
    staging->committing_timestamp_.clear();
    if (reader.torn()) {
      // Bytes of a change whose call never returned, or never synced: kept, not replayed.
      std::string aside = dir + "/torn-" + Stamp();
      for (int n = 2; Exists(aside); ++n)
        aside = dir + "/torn-" + Stamp() + "-" + std::to_string(n);
      VH5_RETURN_IF_ERROR(CopyTail(log, reader.valid_end(), reader.file_size(), aside));
      *note = "staging state " + dir + ": recovered up to the last whole change; " +
              std::to_string(reader.file_size() - reader.valid_end()) +
              " bytes of an unfinished one kept in " + aside;
    }
    VH5_ASSIGN_OR_RETURN(RecordWriter appender, RecordWriter::Append(log, reader.valid_end()));
    *staging->log_ = std::move(appender);
    staging->snapshot_bytes_ = reader.valid_end();
    return Status::OK();
  }();
  if (s.ok() && committed_as.empty()) return staging;
  staging.reset();
  if (s.ok()) {
    VH5_RETURN_IF_ERROR(RemoveState(dir));
    *note = "staging state " + dir + ": already committed as version " + committed_as +
            " (a crash came before it was cleared); deleted";
    return fresh();
  }
  VH5_ASSIGN_OR_RETURN(std::string aside, SetAside(dir));
  *note = "staging state " + dir + " cannot be used (" + s.message() + "); kept as " + aside +
          " (nothing in it is deleted; see vh5fs(1), STAGING); staging/ starts afresh";
  return fresh();
}

}  // namespace vh5
