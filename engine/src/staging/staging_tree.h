// The implementation of vh5::Staging (vh5/staging.h): the tree of nodes,
// their identities and holds (staging_tree.cc), and its durability
// (staging_durable.cc: the log, replay, commit, discard, rebase).
//
// Nodes are owned by their parent (the root by the tree); every live node,
// attached or detached, is in an index by id. A detached node has no
// parent and is owned by `detached_` until its last hold goes. The log
// names paths (it replays by path): a node's path is derived from its
// parent pointers and names, and nothing about a detached node is logged.
//
// Thread safety: none; the owner serializes all calls.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commit/version_plan.h"
#include "staging/record_log.h"
#include "staging/scratch_file.h"
#include "staging/staged_content.h"
#include "util/fd.h"
#include "vh5/dataset.h"
#include "vh5/metadata.h"
#include "vh5/staging.h"
#include "vh5/status.h"
#include "vh5/version.h"
#include "vh5/writer.h"

namespace vh5 {

class VersionedFile;

class StagingTree {
 public:
  using NodeId = Staging::NodeId;

  // Metadata facts of a new dataset that the user set (Node::explicit_bits).
  enum Explicit : uint32_t {
    kSetDtype = 1,
    kSetShape = 2,
    kSetChunks = 4,
    kSetFill = 8,
    kSetCompression = 16,
    kSetAttrs = 32,
  };

  struct Node {
    NodeId id = 0;
    Node* parent = nullptr;  // null for the root and detached nodes
    std::string name;        // in the parent
    uint64_t holds = 0;      // Hold() minus Release()

    NodeKind kind = NodeKind::kGroup;
    std::map<std::string, std::unique_ptr<Node>> children;  // groups
    std::string origin;  // path in the base version; empty when new
    bool from_base = false;
    std::optional<Attributes> attrs;  // loaded from the base on first use

    // Datasets.
    std::shared_ptr<const Dataset> base_dataset;  // read from while not materialized
    std::optional<DatasetInfo> info;              // current metadata
    bool is_new = false;                          // created in this tree: all metadata may change
    bool auto_chunks = false;                     // chunks follow the shape until set
    // New datasets: the Explicit facts the user set. The others follow the
    // dataset the file has at the node's path (Adopt), else the defaults.
    uint32_t explicit_bits = 0;
    // The content holds only fill (nothing written since it was made):
    // metadata set now describes bytes still to come, as tar sets xattrs
    // before it writes.
    bool unwritten = false;
    // Byte offsets of the content name the same elements as in the base
    // dataset (false once a resize moved them).
    bool aligned_with_base = false;
    std::shared_ptr<StagedContent> content;  // the file view, once written
    std::vector<uint64_t> valid_shape;       // the shape at content's checkpoint

    // What the log holds of this node (durable staging): its attributes, its
    // dataset state, and whether `content` is a new object since.
    bool attrs_logged = false;
    bool dataset_logged = false;
    bool content_new = false;

    const ByteSource& source() const {
      return content ? static_cast<const ByteSource&>(*content) : *base_dataset;
    }
    bool loaded() const { return attrs && (kind != NodeKind::kDataset || info); }
  };

  // Not durable: scratch pages in an unnamed file in `scratch_dir`.
  StagingTree(std::shared_ptr<const Version> base, std::string scratch_dir);
  static Result<std::unique_ptr<StagingTree>> Open(const VersionedFile& file, std::string* note);
  ~StagingTree();
  StagingTree(const StagingTree&) = delete;
  StagingTree& operator=(const StagingTree&) = delete;

  const std::string& base_name() const { return base_name_; }
  bool HasChanges() const { return changed_; }
  bool durable() const { return !state_dir_.empty(); }
  Status Sync();

  const std::string& commit_timestamp() const { return commit_timestamp_; }
  bool make_current() const { return make_current_; }
  Status SetCommitTimestamp(const std::string& timestamp);
  Status SetMakeCurrent(bool make_current);
  Status Rebase(std::shared_ptr<const Version> base);
  Status Discard(bool keep_base);
  // Around the commit of a planned version (Staging::Commit): BeginCommit
  // fixes its timestamp (now, unless set) and durably notes its name and
  // timestamp, so that Open() after a crash drops a state already
  // committed; EndCommit(false) notes the failure; EndCommit(true) deletes
  // the state and mirrors `new_base`, settings reset (an error only about
  // deleting the state: the tree is reset whatever happens).
  Status BeginCommit(NewVersion* version);
  Status EndCommit(bool committed, std::shared_ptr<const Version> new_base);

  Result<NodeId> Lookup(NodeId parent, std::string_view name) const;
  Result<NodeId> Resolve(std::string_view path) const;
  // The group that holds `path`, and the name in it.
  Status ResolveParent(std::string_view path, NodeId* parent, std::string* leaf) const;
  bool Attached(NodeId id) const;
  Status Hold(NodeId id);
  void Release(NodeId id);

  Result<NodeKind> Kind(NodeId id) const;
  Result<std::vector<DirEntry>> List(NodeId id) const;
  Result<DatasetInfo> Info(NodeId id) const;
  Result<uint64_t> Size(NodeId id) const;
  Result<size_t> Read(NodeId id, uint64_t offset, size_t len, char* out) const;
  Result<Attributes> GetAttributes(NodeId id) const;

  Result<NodeId> Mkdir(NodeId parent, std::string_view name);
  Status Rmdir(NodeId parent, std::string_view name);
  Result<NodeId> CreateDataset(NodeId parent, std::string_view name);
  Status Unlink(NodeId parent, std::string_view name);
  Status Rename(NodeId parent, std::string_view name, NodeId new_parent, std::string_view new_name);

  Result<size_t> Write(NodeId id, uint64_t offset, std::string_view data);
  Status Truncate(NodeId id, uint64_t size);
  Status FillRange(NodeId id, uint64_t offset, uint64_t len);
  Status Flush(NodeId id);

  Status SetAttributeText(NodeId id, const std::string& name, const std::string& text);
  Status SetAttributeType(NodeId id, const std::string& name, const std::string& type);
  Status RemoveAttribute(NodeId id, const std::string& name);

  Status SetDtype(NodeId id, const std::string& dtype);
  Status SetShape(NodeId id, const std::vector<uint64_t>& shape);
  Status SetChunks(NodeId id, const std::vector<uint64_t>& chunks);
  Status SetFillValue(NodeId id, const std::string& fill);
  Status SetCompression(NodeId id, const std::string& compression);

  // The staged tree as version `name` (`*version`), with the settings above,
  // and what each dataset keeps of the base (`*plan`, pointing into
  // `*version`). Its datasets read their content from this tree, which must
  // not change until the commit is done.
  Status Plan(const std::string& name, NewVersion* version, VersionPlan* plan) const;
  uint64_t ScratchPages() const { return scratch_->pages_in_use(); }

 private:
  // Rmdir (kind kGroup, which must be empty) and Unlink (kDataset).
  Status Remove(NodeId parent, std::string_view name, NodeKind kind);
  // A durable tree over `base` keeping its state in `state_dir`; `mirror`:
  // the tree starts as the base's (else empty, for a replay to fill).
  StagingTree(std::shared_ptr<const Version> base, std::string state_dir, bool mirror);
  // Open() once the state's lock is held.
  static Result<std::unique_ptr<StagingTree>> OpenOwned(const VersionedFile& file,
                                                        std::string* note);

  // A live node by id, its base metadata loaded. NotFound when none lives.
  Result<Node*> Find(NodeId id) const;
  // The same, and the node is a dataset.
  Result<Node*> FindDataset(NodeId id) const;
  // A group in the tree, to make or find `name` in: a valid name, an
  // attached group.
  Result<Node*> ParentGroup(NodeId parent, std::string_view name) const;
  // Reads what the node needs from the base (once).
  Status Load(Node* node) const;
  // The node's path in the tree; "" for the root (and a detached node's name).
  std::string PathOf(const Node* node) const;
  // "staging: /path" for messages.
  std::string Where(const Node* node) const;
  std::string Where(const Node* parent, std::string_view name) const;
  bool IsAttached(const Node* node) const;
  // The tree changed, unless `node` is detached (then only the node did).
  void Changed(const Node* node);
  // A new node with a new id, in the index.
  std::unique_ptr<Node> NewNode(NodeKind kind);
  // Puts `node` into `parent` as `name` (no node there).
  Node* Attach(Node* parent, std::string_view name, std::unique_ptr<Node> node);
  // `node` leaves the tree: what is held lives on detached, the rest dies.
  void Drop(std::unique_ptr<Node> node);

  // Where a node's new content keeps its pages: the state's file while it
  // is in the tree; once detached (durable), an unnamed one of its own.
  std::shared_ptr<ScratchFile> ScratchFor(const Node* node);
  Status Materialize(Node* node);
  // Another shape of the same rank whose trailing dimensions differ: every
  // element keeps its index, new cells read as the fill value.
  Status Regrid(Node* node, const std::vector<uint64_t>& shape);

  // A tree mirroring `base` (names and kinds); a node at a path where
  // `old_root`'s tree has one of the same kind takes its id and holds.
  std::unique_ptr<Node> MirrorBase(const std::shared_ptr<const Version>& base, Node* old_root);
  Status FlushNode(Node* node, bool* checkpointed);
  // Runs `change` (user.vh5.<key>) on the dataset `id`, then logs it.
  template <typename Change>
  Status ChangeMetadata(NodeId id, const char* key, Change&& change);
  Status ApplyShape(Node* node, const std::vector<uint64_t>& shape, const std::string& where);
  // A shape set on a new dataset before its bytes: the content becomes that
  // many elements of fill, for the writes to come.
  Status ShapeAhead(Node* node, const std::vector<uint64_t>& shape);
  // Whether the rank of a new dataset is fixed: by its shape set, or by the
  // dataset it took after. Until then, chunks of another rank wait for a shape.
  static bool RankSettled(const Node* node) {
    return !node->is_new || (node->explicit_bits & kSetShape) || !node->auto_chunks;
  }

  // How the file stores the data of `path` (its raw_data), if it does.
  Result<std::optional<DatasetInfo>> StoredLayout(const std::string& path) const;
  // InvalidArgument when a dataset of `dtype` in `chunks` cannot be stored
  // at `path`: versioned-hdf5 keeps one raw_data per path, of one dtype and
  // chunk shape.
  Status CheckStorable(const std::string& path, const std::string& dtype,
                       const std::vector<uint64_t>& chunks) const;
  // The same against the layout `stored`, read already (StoredLayout).
  static Status CheckStorableIn(const std::optional<DatasetInfo>& stored, const std::string& path,
                                const std::string& dtype, const std::vector<uint64_t>& chunks);
  // What a new dataset (`node`) becomes placed at `path`: the metadata it was
  // not given explicitly taken from the dataset there (`replaced`, else the
  // base's, else the file's raw_data), its shape from its size. Nothing
  // changes yet: `*info` and `*attrs` are the result (nullopt attrs: kept);
  // false when there is nothing to take after. InvalidArgument when its
  // bytes are not whole rows of that dataset or it cannot be stored there.
  Result<bool> PlanAdoption(const Node* node, const std::string& path, const Node* replaced,
                            DatasetInfo* info, std::optional<Attributes>* attrs) const;
  // The shape of the dataset at `path` in the nearest version before the
  // base whose rows `count` bytes (or lines) fill: exactly, else a whole
  // number of times; nullopt when none does.
  std::optional<std::vector<uint64_t>> EarlierShape(const std::string& path, const DType& dtype,
                                                    uint64_t count, uint64_t item) const;
  // Applies PlanAdoption's result to `node`, and logs it.
  void Adopt(Node* node, DatasetInfo info, std::optional<Attributes> attrs);
  Status ApplyDtype(Node* node, const std::string& dtype, const std::string& where);

  // Durability (staging_durable.cc).
  // Buffers a record of a change (nothing when not durable or replaying);
  // before the first log exists too, which CreateLog() then writes.
  void Log(uint8_t type, std::string payload);
  void LogDataset(Node* node);
  void LogAttributes(Node* node);
  // How far Persist() takes the buffered records.
  enum class Durability {
    kWritten,        // write(2): a kill of the process loses nothing
    kRecordsSynced,  // and fdatasync of the log, the pages aside (a commit's note)
    kSynced,         // the pages, then the records and a kSynced mark, fdatasync'ed
  };
  // Writes the buffered records as `durability` asks. Rewrites the log
  // whole when it lacks a change (a failed write) or has grown large.
  Status Persist(Durability durability);
  // Before the first page is written: the log exists, with its space
  // reserved, while the disk has room (a full one must still take the
  // record of a removal that frees pages).
  Status EnsureState();
  // The first log since the tree mirrored its base: a header naming the
  // base, then the records buffered so far. Written, not synced.
  Status CreateLog();
  Status WriteLog(Durability durability);
  // Rewrites the log whole, as a snapshot of the tree. Replacing a log, or
  // asked kSynced, it syncs the pages and the snapshot (with a kSynced mark)
  // before the rename and the directories after; a first log is only written.
  Status Compact(Durability durability = Durability::kWritten);
  bool ReclaimScratch();
  Status Replay(uint8_t type, const std::string& payload);
  Status AdoptPages();
  // Back to a fresh tree over `base`, nothing persisted; paths keep their ids.
  void Reset(std::shared_ptr<const Version> base);
  std::shared_ptr<ScratchFile> NewScratch();

  // Durable: the exclusive flock of the state's lock file, which makes this
  // process its one owner; declared first to be released last, once the
  // state is synced.
  Fd state_lock_;
  std::shared_ptr<const Version> base_;
  // Versions of the file by name, to look back along prev_version (durable
  // only: the file outlives its staging).
  std::function<Result<std::shared_ptr<const Version>>(const std::string&)> find_version_;
  std::shared_ptr<ScratchFile> scratch_;
  std::string base_name_;
  std::unique_ptr<Node> root_;
  std::unordered_map<NodeId, Node*> nodes_;  // every live node
  std::unordered_map<NodeId, std::unique_ptr<Node>> detached_;
  std::shared_ptr<ScratchFile> detached_scratch_;  // made when first needed
  NodeId next_id_ = Staging::kRootId + 1;
  bool changed_ = false;
  std::string commit_timestamp_;
  bool make_current_ = true;

  std::string scratch_dir_;  // not durable: where scratch files go
  std::string state_dir_;    // empty: not durable
  std::unique_ptr<RecordWriter> log_;
  bool need_state_ = false;      // a change awaits a log that does not exist yet
  bool stale_ = false;           // the log lacks a change
  bool unsynced_ = false;        // records were written since the last kSynced mark
  bool session_logged_ = false;  // this process's kSession leads its records in the log
  bool dirs_unsynced_ = false;   // the state's directory entries await an fsync
  bool replaying_ = false;
  uint64_t snapshot_bytes_ = 0;  // the log's size when last rewritten whole
  // The last "committing as" record since the last change: name, timestamp.
  std::string committing_;
  std::string committing_timestamp_;
};

}  // namespace vh5
