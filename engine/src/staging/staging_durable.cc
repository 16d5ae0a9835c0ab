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
#include <fstream>
#include <optional>

#include "format/file_layout.h"
#include "journal/held_lock.h"
#include "staging/record_log.h"
#include "staging/scratch_file.h"
#include "staging/staged_content.h"
#include "staging/staging_records.h"
#include "staging/staging_tree.h"
#include "util/crash_point.h"
#include "util/fd.h"
#include "util/posix_file.h"
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

// A record of a change to the tree: after one, an earlier "committing as"
// no longer stands for the state (that commit did not hold this change).
bool ChangesTree(uint8_t type) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::kHeader:
    case RecordType::kSettings:
    case RecordType::kCommitting:
    case RecordType::kSession:
    case RecordType::kSynced:
      return false;
    default:
      return true;
  }
}

// This boot of the machine; empty when unknown (then every record not
// vouched for by a kSynced mark is distrusted at the next Open()).
std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

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
// `sync`: durably (a discard); a committed state need not be, since Open()
// drops one that comes back.
Status RemoveState(const std::string& dir, bool sync = true) {
  if (!Exists(dir)) return Status::OK();
  if (::unlink((dir + kLogName).c_str()) != 0 && errno != ENOENT)
    return ErrnoStatus("cannot delete " + dir + kLogName);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::IOError("cannot delete " + dir + ": " + ec.message());
  return sync ? SyncDir(DirName(dir)) : Status::OK();
}

// Moves a state that cannot be used out of the way, whole; its new name.
Result<std::string> SetAside(const std::string& dir) {
  std::string aside = dir + ".broken-" + Stamp();
  for (int n = 2; Exists(aside); ++n) aside = dir + ".broken-" + Stamp() + "-" + std::to_string(n);
  if (::rename(dir.c_str(), aside.c_str()) != 0) return ErrnoStatus("cannot rename " + dir);
  VH5_RETURN_IF_ERROR(SyncDir(DirName(dir)));
  return aside;
}

// Puts the log written to `tmp` in place as `dir`'s log, once `written`
// (the writing's outcome) is OK; a failed log is removed.
Status PlaceLog(const std::string& tmp, const std::string& dir, Status written) {
  if (written.ok() && ::rename(tmp.c_str(), (dir + kLogName).c_str()) != 0)
    written = ErrnoStatus("cannot rename " + tmp);
  if (!written.ok()) ::unlink(tmp.c_str());
  return written;
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

// Where the replay of a log stops, found by a first pass over its records.
struct LogEnd {
  // The last "committing as" no change followed, over every valid record
  // (synced or not: a committed state replays nothing anyway).
  std::string committing, committing_timestamp;
  uint64_t valid = 0;      // the end of the records that check out
  uint64_t synced = 0;     // the end of the last kSynced mark
  uint64_t replay = 0;     // where the replay stops: `valid`, or `synced` after a restart
  bool restarted = false;  // records after the last mark were written before this boot
};

Result<LogEnd> ScanLog(const std::string& log) {
  VH5_ASSIGN_OR_RETURN(RecordReader reader, RecordReader::Open(log));
  LogEnd end;
  std::string boot_id;  // of the last session: the one that wrote the records after the mark
  uint8_t type = 0;
  std::string payload;
  for (bool first = true;; first = false) {
    VH5_ASSIGN_OR_RETURN(bool more, reader.Next(&type, &payload));
    if (!more) break;
    // A header alone names no page: it needs no mark (a first log is not synced).
    if (first || type == static_cast<uint8_t>(RecordType::kSynced)) end.synced = reader.valid_end();
    CommittingRecord committing;
    if (type == static_cast<uint8_t>(RecordType::kCommitting) &&
        Decode(payload, &committing).ok()) {
      end.committing = committing.name;
      end.committing_timestamp = committing.timestamp;
    }
    if (ChangesTree(type)) end.committing.clear();
    SessionRecord session;
    if (type == static_cast<uint8_t>(RecordType::kSession) && Decode(payload, &session).ok())
      boot_id = session.boot_id;
  }
  end.valid = end.replay = reader.valid_end();
  // The kernel kept every record of this boot, synced or not; a record of an
  // earlier boot not vouched for by a mark may name pages that never reached the disk.
  std::string now = BootId();
  if (end.valid > end.synced && (boot_id.empty() || boot_id != now)) {
    end.restarted = true;
    end.replay = end.synced;
  }
  return end;
}

}  // namespace

std::string Staging::StateDir(const std::string& file_path) {
  return layout::StagingStateDir(file_path);
}

Result<std::optional<std::string>> Staging::PersistedBase(const std::string& file_path) {
  // Shared, so that no process takes the state while it is read; absent:
  // no process ever owned a state.
  Result<Fd> lock = HoldLockFile(layout::StagingLockPath(file_path), /*exclusive=*/false,
                                 /*create=*/false);
  if (!lock.ok() && lock.status().code() != Status::Code::kNotFound)
    return lock.status().WithContext("staging state " + StateDir(file_path));
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

StagingTree::StagingTree(std::shared_ptr<const Version> base, std::string state_dir, bool mirror)
    : base_(std::move(base)),
      base_name_(base_ ? base_->info().name : kFirstVersionName),
      state_dir_(std::move(state_dir)),
      log_(std::make_unique<RecordWriter>()) {
  scratch_ = NewScratch();
  root_ = MirrorBase(mirror ? base_ : nullptr, nullptr);
  if (!mirror && base_) {
    // Explicit: the replay places the base's nodes.
    root_->from_base = true;
    root_->attrs.reset();
  }
}

std::shared_ptr<ScratchFile> StagingTree::NewScratch() {
  if (!durable()) return std::make_shared<ScratchFile>(scratch_dir_);
  auto scratch = std::make_shared<ScratchFile>(ScratchFile::Named{}, state_dir_ + kPagesName);
  scratch->SetReclaim([this] { return ReclaimScratch(); });
  return scratch;
}

// A durable staging leaves its state synced; every scratch page goes with
// the object (an unnamed file) or stays for the next Open() (a named one).
StagingTree::~StagingTree() {
  if (durable()) (void)Sync();
  scratch_->Retire();
}

void StagingTree::Reset(std::shared_ptr<const Version> base) {
  // The old tree's pages go with its state: nothing to punch out. Detached
  // datasets may still use them; they never touch the new state's pages.
  scratch_->Retire();
  std::unique_ptr<Node> new_root = MirrorBase(base, root_.get());
  Drop(std::move(root_));  // reads what held nodes need from the old base
  root_ = std::move(new_root);
  base_ = std::move(base);
  base_name_ = base_ ? base_->info().name : kFirstVersionName;
  scratch_ = NewScratch();
  if (durable()) *log_ = RecordWriter();  // no file, nothing buffered
  changed_ = false;
  need_state_ = stale_ = unsynced_ = session_logged_ = dirs_unsynced_ = false;
  snapshot_bytes_ = 0;
  committing_.clear();
  committing_timestamp_.clear();
}

void StagingTree::Log(uint8_t type, std::string payload) {
  if (!durable() || replaying_) return;
  if (ChangesTree(type)) {
    committing_.clear();
    committing_timestamp_.clear();
  }
  if (stale_) return;                        // Persist() writes the state whole
  if (!log_->is_open()) need_state_ = true;  // Persist() writes the first log
  if (!session_logged_) {
    log_->Add(static_cast<uint8_t>(RecordType::kSession), Encode(SessionRecord{BootId()}));
    session_logged_ = true;
  }
  log_->Add(type, payload);
}

void StagingTree::LogDataset(Node* node) {
  // A detached node is no longer part of the state.
  if (!durable() || replaying_ || !IsAttached(node)) return;
  DatasetRecord r;
  r.path = PathOf(node);
  r.info = *node->info;
  r.info.attrs.clear();
  r.is_new = node->is_new;
  r.auto_chunks = node->auto_chunks;
  r.aligned_with_base = node->aligned_with_base;
  r.explicit_bits = node->explicit_bits;
  if (node->content) {
    r.content = node->content_new ? node->content->Whole() : node->content->Unsaved();
    node->content->MarkSaved();
    node->content_new = false;
  }
  node->dataset_logged = true;
  Log(static_cast<uint8_t>(RecordType::kDataset), Encode(r));
}

void StagingTree::LogAttributes(Node* node) {
  if (!durable() || replaying_ || !IsAttached(node)) return;
  node->attrs_logged = true;
  Log(static_cast<uint8_t>(RecordType::kAttributes),
      Encode(AttributesRecord{PathOf(node), *node->attrs}));
}

Status StagingTree::Persist(Durability durability) {
  if (!durable() || replaying_) return Status::OK();
  if (stale_) return Compact(durability);
  if (!log_->is_open()) {
    if (!need_state_) return Status::OK();  // nothing to keep yet
    VH5_RETURN_IF_ERROR(CreateLog());
  }
  VH5_RETURN_IF_ERROR(WriteLog(durability));
  // Best effort: a failed rewrite leaves the log as it was, still whole.
  if (log_->size() > std::max(kCompactMinBytes, kCompactRatio * snapshot_bytes_)) (void)Compact();
  return Status::OK();
}

Status StagingTree::EnsureState() {
  if (!durable() || replaying_ || log_->is_open()) return Status::OK();
  return stale_ ? Compact() : CreateLog();
}

Status StagingTree::CreateLog() {
  if (::mkdir(state_dir_.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus("cannot create the staging state " + state_dir_);
  // Renamed into place whole: a kill part way leaves no log, so no state.
  std::string tmp = state_dir_ + kLogTmpName;
  VH5_ASSIGN_OR_RETURN(RecordWriter w, RecordWriter::Create(tmp));
  w.Add(static_cast<uint8_t>(RecordType::kHeader),
        Encode(HeaderRecord{base_name_, base_ ? base_->info().timestamp : "", false}));
  VH5_RETURN_IF_ERROR(PlaceLog(tmp, state_dir_, w.Write()));
  uint64_t size = w.size();
  w.Close();
  VH5_ASSIGN_OR_RETURN(RecordWriter appender, RecordWriter::Append(state_dir_ + kLogName, size));
  appender.TakeBuffered(log_.get());
  *log_ = std::move(appender);
  need_state_ = false;
  unsynced_ = dirs_unsynced_ = true;  // until the next kSynced mark
  snapshot_bytes_ = size;
  return Status::OK();
}

Status StagingTree::WriteLog(Durability durability) {
  // Not synced: a kill of the process loses none of it, and an fdatasync per
  // close(2) would cost cp -a dearly. A crash of the machine may lose it:
  // Open() then replays up to the last kSynced mark only.
  if (durability != Durability::kSynced) {
    if (log_->has_buffered()) {
      if (Status s = log_->Write(); !s.ok()) {
        stale_ = true;  // the records are dropped: the next Persist rewrites the log whole
        return s;
      }
      unsynced_ = true;
    }
    if (durability == Durability::kWritten) return Status::OK();
    // No mark: the pages are not vouched for, so waiting pages keep waiting.
    if (Status s = log_->Sync(); !s.ok()) {
      stale_ = true;
      return s;
    }
    return Status::OK();
  }
  if (unsynced_ || log_->has_buffered()) {
    // The pages the records name reach the disk before the mark vouching for them.
    if (Status s = scratch_->Sync(); !s.ok()) {
      stale_ = true;
      log_->Close();
      return s;
    }
    log_->Add(static_cast<uint8_t>(RecordType::kSynced), "");
    if (Status s = log_->Write(); !s.ok()) {
      stale_ = true;
      return s;
    }
    if (Status s = log_->Sync(); !s.ok()) {
      stale_ = true;
      return s;
    }
    unsynced_ = false;
    if (dirs_unsynced_) {
      VH5_RETURN_IF_ERROR(SyncDir(state_dir_));
      VH5_RETURN_IF_ERROR(SyncDir(DirName(state_dir_)));
      dirs_unsynced_ = false;
    }
  }
  // Pages only the records before this point dropped are free now.
  scratch_->Synced();
  return Status::OK();
}

bool StagingTree::ReclaimScratch() {
  if (!durable() || replaying_ || stale_ || !log_->is_open()) return false;
  return WriteLog(Durability::kSynced).ok();
}

Status StagingTree::Sync() {
  if (!durable()) return Status::OK();
  return Persist(Durability::kSynced);
}

Status StagingTree::Compact(Durability durability) {
  // A log replaced before its replacement is durable could be lost whole
  // with a crash of the machine; a first one is only ever written, as the
  // records that follow it are (kill -9 keeps it, a restart replays its header).
  // An explicit tree is vouched for by its mark: torn, it would drop base nodes.
  bool sync = durability != Durability::kWritten || Exists(state_dir_ + kLogName) || changed_;
  // The pages the snapshot names reach the disk before it does.
  if (sync) VH5_RETURN_IF_ERROR(scratch_->Sync());
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
  if (s.ok()) s = add(RecordType::kSession, Encode(SessionRecord{BootId()}));
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
      r.explicit_bits = node->explicit_bits;
      r.explicit_bits = node->explicit_bits;
      if (node->content) r.content = node->content->Whole();
      s = add(RecordType::kDataset, Encode(r));
    }
    for (auto it = node->children.rbegin(); it != node->children.rend(); ++it)
      pending.push_back({it->second.get(), path.empty() ? it->first : path + "/" + it->first});
  }
  if (s.ok() && !committing_.empty())
    s = add(RecordType::kCommitting, Encode(CommittingRecord{committing_, committing_timestamp_}));
  if (s.ok() && sync) s = add(RecordType::kSynced, "");  // synced below, the pages before
  if (s.ok()) s = w.Write();
  if (s.ok() && sync) s = w.Sync();
  VH5_RETURN_IF_ERROR(PlaceLog(tmp, state_dir_, s));
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
  need_state_ = stale_ = false;
  unsynced_ = !sync;
  session_logged_ = true;
  snapshot_bytes_ = size;
  Result<RecordWriter> appender = RecordWriter::Append(state_dir_ + kLogName, size);
  if (!appender.ok()) {
    stale_ = true;
    return appender.status();
  }
  *log_ = std::move(*appender);
  if (!sync) {
    dirs_unsynced_ = true;  // the next kSynced mark makes them durable
    return Status::OK();
  }
  // The rename, and the state directory itself, made durable.
  VH5_RETURN_IF_ERROR(SyncDir(state_dir_));
  VH5_RETURN_IF_ERROR(SyncDir(DirName(state_dir_)));
  dirs_unsynced_ = false;
  scratch_->Synced();
  return Status::OK();
}

Status StagingTree::SetCommitTimestamp(const std::string& timestamp) {
  if (!timestamp.empty() && !ParseTimestamp(timestamp))
    return Status::InvalidArgument("staging: not a timestamp: " + timestamp);
  commit_timestamp_ = timestamp;
  Log(static_cast<uint8_t>(RecordType::kSettings),
      Encode(SettingsRecord{commit_timestamp_, make_current_}));
  return Persist(Durability::kWritten);
}

Status StagingTree::SetMakeCurrent(bool make_current) {
  make_current_ = make_current;
  Log(static_cast<uint8_t>(RecordType::kSettings),
      Encode(SettingsRecord{commit_timestamp_, make_current_}));
  return Persist(Durability::kWritten);
}

Status StagingTree::Rebase(std::shared_ptr<const Version> base) {
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

Status StagingTree::Discard(bool keep_base) {
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

Status StagingTree::BeginCommit(NewVersion* version) {
  // Fixed now, so that the record names the very version the commit makes.
  if (version->timestamp.empty()) version->timestamp = NowTimestamp();
  // No state, nothing a crash could bring back.
  if (!durable() || (!log_->is_open() && !need_state_ && !stale_)) return Status::OK();
  committing_ = version->name;
  committing_timestamp_ = version->timestamp;
  Log(static_cast<uint8_t>(RecordType::kCommitting),
      Encode(CommittingRecord{committing_, committing_timestamp_}));
  // Durable before the commit is, or a crash of the machine could bring the
  // changes back; the pages need not be (Open() finds this record past any
  // mark, and a committed state replays nothing).
  return Persist(Durability::kRecordsSynced);
}

Status StagingTree::EndCommit(bool committed, std::shared_ptr<const Version> new_base) {
  if (!committed) {
    if (committing_.empty()) return Status::OK();
    committing_.clear();
    committing_timestamp_.clear();
    Log(static_cast<uint8_t>(RecordType::kCommitting), Encode(CommittingRecord{"", ""}));
    return Persist(Durability::kWritten);
  }
  // A crash before the state is gone leaves "committing as": Open() drops it.
  Status removed = durable() ? RemoveState(state_dir_, /*sync=*/false) : Status::OK();
  Reset(std::move(new_base));
  commit_timestamp_.clear();
  make_current_ = true;
  return removed;
}

Status StagingTree::Replay(uint8_t type, const std::string& payload) {
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
      NodeId parent_id = 0;
      std::string leaf;
      VH5_RETURN_IF_ERROR(ResolveParent(r.path, &parent_id, &leaf));
      if (!r.from_base) {
        Result<NodeId> made =
            r.kind == NodeKind::kGroup ? Mkdir(parent_id, leaf) : CreateDataset(parent_id, leaf);
        return made.status();
      }
      if (!base_) return Status::Corruption("a node of the base, and no base");
      VH5_ASSIGN_OR_RETURN(Node * parent, ParentGroup(parent_id, leaf));
      if (parent->children.count(leaf)) return Status::Corruption("/" + r.path + " placed twice");
      std::unique_ptr<Node> node = NewNode(r.kind);
      node->from_base = true;
      node->origin = r.origin;
      Attach(parent, leaf, std::move(node));
      changed_ = true;
      return Status::OK();
    }
    case RecordType::kRemove: {
      PathRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      NodeId parent_id = 0;
      std::string leaf;
      VH5_RETURN_IF_ERROR(ResolveParent(r.from, &parent_id, &leaf));
      VH5_ASSIGN_OR_RETURN(NodeId id, Lookup(parent_id, leaf));
      VH5_ASSIGN_OR_RETURN(NodeKind kind, Kind(id));
      return kind == NodeKind::kGroup ? Rmdir(parent_id, leaf) : Unlink(parent_id, leaf);
    }
    case RecordType::kMove: {
      PathRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      NodeId from_parent = 0, to_parent = 0;
      std::string from_leaf, to_leaf;
      VH5_RETURN_IF_ERROR(ResolveParent(r.from, &from_parent, &from_leaf));
      VH5_RETURN_IF_ERROR(ResolveParent(r.to, &to_parent, &to_leaf));
      return Rename(from_parent, from_leaf, to_parent, to_leaf);
    }
    case RecordType::kAttributes: {
      AttributesRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      VH5_ASSIGN_OR_RETURN(NodeId id, Resolve(r.path));
      VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
      node->attrs = std::move(r.attrs);
      node->attrs_logged = true;
      if (node->is_new) node->explicit_bits |= kSetAttrs;
      changed_ = true;
      return Status::OK();
    }
    case RecordType::kDataset: {
      DatasetRecord r;
      VH5_RETURN_IF_ERROR(Decode(payload, &r));
      VH5_ASSIGN_OR_RETURN(NodeId id, Resolve(r.path));
      VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
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
      node->explicit_bits = static_cast<uint32_t>(r.explicit_bits);
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
    case RecordType::kSession: {
      SessionRecord r;
      return Decode(payload, &r);  // read by Open() before the replay
    }
    case RecordType::kSynced:
      return payload.empty() ? Status::OK() : Status::Corruption("a malformed synced record");
  }
  return Status::Corruption("a record of unknown type " + std::to_string(type));
}

Status StagingTree::AdoptPages() {
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

Result<std::unique_ptr<StagingTree>> StagingTree::Open(const VersionedFile& file,
                                                       std::string* note) {
  // One process at a time owns the state: two read-write mounts of one file
  // would otherwise write one log. A mount unmounted a moment ago may still
  // be letting go of it (fusermount3 -u returns before the daemon exits):
  // a remount waits that long, not to come up without its staged changes.
  Result<Fd> lock = HoldLockFile(layout::StagingLockPath(file.path()), /*exclusive=*/true,
                                 /*create=*/true, std::chrono::seconds(2));
  if (!lock.ok())
    return lock.status().WithContext("staging state " + Staging::StateDir(file.path()) +
                                     " is owned by another process");
  VH5_ASSIGN_OR_RETURN(std::unique_ptr<StagingTree> tree, OpenOwned(file, note));
  tree->state_lock_ = std::move(*lock);
  tree->find_version_ = [&file](const std::string& name) { return file.GetVersion(name); };
  return tree;
}

Result<std::unique_ptr<StagingTree>> StagingTree::OpenOwned(const VersionedFile& file,
                                                            std::string* note) {
  note->clear();
  std::string dir = Staging::StateDir(file.path());
  auto fresh = [&]() -> Result<std::unique_ptr<StagingTree>> {
    std::shared_ptr<const Version> base;
    if (std::optional<std::string> current = file.CurrentVersion()) {
      VH5_ASSIGN_OR_RETURN(base, file.GetVersion(*current));
    }
    return std::unique_ptr<StagingTree>(new StagingTree(std::move(base), dir, /*mirror=*/true));
  };
  std::string log = dir + kLogName;
  if (!Exists(log)) {
    // Made or deleted part way when a crash came: without a log, no state.
    if (Exists(dir)) VH5_RETURN_IF_ERROR(RemoveState(dir));
    return fresh();
  }
  std::unique_ptr<StagingTree> staging;
  std::string committed_as;
  Status s = [&]() -> Status {
    VH5_ASSIGN_OR_RETURN(LogEnd end, ScanLog(log));
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
    if (!end.committing.empty()) {
      Result<VersionInfo> info = file.GetVersionInfo(end.committing);
      if (info.ok() && info->prev_version == header.base &&
          info->timestamp == end.committing_timestamp) {
        committed_as = end.committing;
        return Status::OK();
      }
    }
    staging.reset(new StagingTree(std::move(base), dir, !header.explicit_tree));
    staging->replaying_ = true;
    staging->scratch_->Abandon();  // releases during replay are no-ops: Adopt decides
    staging->changed_ = header.explicit_tree;
    while (reader.valid_end() < end.replay) {
      uint64_t at = reader.valid_end();
      VH5_ASSIGN_OR_RETURN(bool more, reader.Next(&type, &payload));
      if (!more) break;
      Status replayed = staging->Replay(type, payload);
      if (!replayed.ok())
        return Status::Corruption("the record at byte " + std::to_string(at) + ": " +
                                  replayed.message());
    }
    VH5_RETURN_IF_ERROR(staging->AdoptPages());
    staging->replaying_ = false;
    // That commit failed: its version is not there.
    staging->committing_.clear();
    staging->committing_timestamp_.clear();
    if (end.replay < reader.file_size()) {
      // Kept, not replayed: bytes of a change whose call never returned (a
      // torn tail), or changes not synced before the machine restarted.
      std::string aside = dir + "/torn-" + Stamp();
      for (int n = 2; Exists(aside); ++n)
        aside = dir + "/torn-" + Stamp() + "-" + std::to_string(n);
      VH5_RETURN_IF_ERROR(CopyTail(log, end.replay, reader.file_size(), aside));
      std::string bytes = std::to_string(reader.file_size() - end.replay) + " bytes";
      if (end.restarted) {
        *note = "staging state " + dir +
                ": the changes made since the last sync (fsync, unmount) before the machine "
                "restarted are not replayed, their data may not have reached the disk; " +
                bytes + " of records kept in " + aside;
      } else {
        *note = "staging state " + dir + ": recovered up to the last whole change; " + bytes +
                " of an unfinished one kept in " + aside;
      }
    }
    VH5_ASSIGN_OR_RETURN(RecordWriter appender, RecordWriter::Append(log, end.replay));
    *staging->log_ = std::move(appender);
    staging->snapshot_bytes_ = end.replay;
    // Whatever was replayed past the last mark is this boot's, in the kernel's cache.
    staging->unsynced_ = end.replay > end.synced;
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
          " (nothing in it is deleted; see vh5fs(1), DURABLE STAGING); staging/ starts afresh";
  return fresh();
}

}  // namespace vh5
