#include "vh5/verify.h"

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "format/chunk_hash.h"
#include "format/file_layout.h"
#include "format/file_walk.h"
#include "format/hash_table.h"
#include "format/object_check.h"
#include "format/stored_dataset.h"
#include "offline/offline_file.h"
#include "offline/raw_chunk_hash.h"
#include "read/file_core.h"
#include "read/raw_data.h"
#include "util/py_literal.h"
#include "vh5/metadata.h"
#include "vh5/shape.h"
#include "vh5/timestamp.h"

namespace vh5 {
namespace {

// "[8192:12288, 0:16]": a box in Python's slice notation.
std::string Box(const std::vector<uint64_t>& start, const std::vector<uint64_t>& count) {
  std::string out = "[";
  for (size_t d = 0; d < start.size(); ++d) {
    if (d) out += ", ";
    out += std::to_string(start[d]) + ":" + std::to_string(start[d] + count[d]);
  }
  return out + "]";
}

// Every extent of a raw_data chunk along axis 0 slot `start` that some
// mapping reads, by raw_data path.
using SlotExtents = std::map<uint64_t, std::set<std::vector<uint64_t>>>;

class Verifier {
 public:
  Verifier(OfflineFile file, const Progress& progress) : f_(std::move(file)), progress_(progress) {}

  VerifyReport Run() {
    CheckFileAttributes();
    std::vector<std::string> names;
    for (const std::string& name : HardLinks(f_.versions.get()))
      if (name != kFirstVersionName) names.push_back(name);
    for (size_t i = 0; i < names.size(); ++i) {
      Report(i, names.size(), "checking versions");
      CheckVersion(names[i]);
      H5garbage_collect();
    }
    CheckChains();
    CheckHashTables();
    return std::move(report_);
  }

 private:
  void Problem(std::string line) { report_.problems.push_back(std::move(line)); }

  void Report(uint64_t done, uint64_t total, std::string_view stage) {
    if (progress_ && total > 0) progress_(stage, done, total);
  }

  void CheckFileAttributes() {
    hid_t versions = f_.versions.get();
    if (f_.data_version < 1 || f_.data_version > layout::kDataVersion)
      Problem("data_version " + std::to_string(f_.data_version) +
              " is not one this vh5 knows (1 to " + std::to_string(layout::kDataVersion) + ")");
    if (!h5::LinkExists(versions, kFirstVersionName))
      Problem(std::string("no ") + kFirstVersionName + " group");
    if (!h5::AttributeExists(versions, layout::kCurrentVersionAttr)) {
      Problem("no current_version attribute");
      return;
    }
    Result<std::string> current = h5::ReadStringAttribute(versions, layout::kCurrentVersionAttr);
    if (!current.ok()) {
      Problem("current_version: " + current.status().message());
      return;
    }
    if (*current != kFirstVersionName && !IsCommittedVersion(versions, *current))
      Problem("current_version " + *current + " is not a version");
  }

  void CheckVersion(const std::string& name) {
    hid_t versions = f_.versions.get();
    std::string where = "version " + name + ": ";
    if (Status guard = GuardPath(versions, name); !guard.ok()) {
      Problem(where + guard.message());
      return;
    }
    H5O_info_t info;
    if (H5Oget_info_by_name2(versions, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
        info.type != H5O_TYPE_GROUP) {
      h5::TakeErrorStack();
      Problem(where + "not a group");
      return;
    }
    h5::Handle group(H5Gopen2(versions, name.c_str(), H5P_DEFAULT));
    if (!group) {
      Problem(where + h5::Error("cannot open").message());
      return;
    }
    if (h5::AttributeExists(group.get(), layout::kCommittedAttr)) {
      Result<int64_t> committed = h5::ReadIntAttribute(group.get(), layout::kCommittedAttr);
      if (!committed.ok() || *committed == 0) {
        Problem(where + "never committed (its committed attribute is not True)");
        return;
      }
    }
    ++report_.versions;
    Result<std::string> prev = h5::ReadStringAttribute(group.get(), layout::kPrevVersionAttr);
    if (prev.ok())
      parents_[name] = *prev;
    else
      Problem(where + "no prev_version attribute");
    Result<std::string> timestamp = h5::ReadStringAttribute(group.get(), layout::kTimestampAttr);
    if (!timestamp.ok())
      Problem(where + "no timestamp attribute");
    else if (!ParseTimestamp(*timestamp))
      Problem(where + "timestamp \"" + *timestamp + "\" is not of the form " +
              "2024-01-01 13:00:00.000001+0000");
    std::vector<NotEntered> not_entered = VisitTree(
        group.get(),
        [&](const std::string& path, hid_t parent, const std::string& link, H5O_type_t type) {
          if (type == H5O_TYPE_UNKNOWN)
            Problem(where + path + ": " + h5::Error("cannot inspect").message());
          else if (type == H5O_TYPE_DATASET)
            CheckDataset(name, parent, link, path);
        });
    for (const NotEntered& n : not_entered) Problem(where + n.path + ": " + n.why);
  }

  void CheckDataset(const std::string& version, hid_t group, const std::string& name,
                    const std::string& path) {
    std::string where = "version " + version + ": " + path + ": ";
    ++report_.datasets;
    Result<StoredDataset> stored = OpenStoredDataset(group, name);
    if (!stored.ok()) {
      Problem(where + stored.status().message());
      return;
    }
    const StoredDataset& ds = *stored;
    if (!ds.is_virtual) return;  // empty datasets are stored plainly
    std::string raw_path = layout::RawDataPath(path);
    if (ds.raw_data.empty())
      Problem(where + "no raw_data attribute");
    else if (ds.raw_data != raw_path)
      Problem(where + "raw_data attribute " + ds.raw_data + " is not " + raw_path);
    if (!h5::LinkExists(f_.file.get(), raw_path)) {
      Problem(where + "its raw_data " + raw_path + " does not exist");
      return;
    }
    Result<h5::Handle> raw = OpenCheckedDataset(f_.file.get(), raw_path);
    if (!raw.ok()) {
      Problem(where + raw.status().message());
      return;
    }
    h5::Handle raw_type(H5Dget_type(raw->get()));
    h5::Handle raw_dcpl(H5Dget_create_plist(raw->get()));
    h5::Handle raw_space(H5Dget_space(raw->get()));
    size_t rank = ds.shape.size();
    if (H5Sget_simple_extent_ndims(raw_space.get()) != static_cast<int>(rank) ||
        H5Pget_layout(raw_dcpl.get()) != H5D_CHUNKED) {
      Problem(where + "its raw_data is not a chunked dataset of rank " + std::to_string(rank));
      return;
    }
    std::vector<hsize_t> raw_dims(rank), chunk(rank);
    H5Sget_simple_extent_dims(raw_space.get(), raw_dims.data(), nullptr);
    H5Pget_chunk(raw_dcpl.get(), static_cast<int>(rank), chunk.data());
    std::vector<uint64_t> chunks(chunk.begin(), chunk.end());
    if (H5Tequal(raw_type.get(), ds.type.get()) <= 0)
      Problem(where + "its type differs from its raw_data's");
    if (!ds.chunks.empty() && ds.chunks != chunks)
      Problem(where + "chunks attribute " + py::TupleRepr(ds.chunks) +
              " differs from raw_data's chunks " + py::TupleRepr(chunks));

    std::set<std::vector<uint64_t>> cells;
    for (size_t i = 0; i < ds.mappings.size(); ++i) {
      ++report_.mappings;
      const VirtualMapping& m = ds.mappings[i];
      std::string what = where + "mapping " + std::to_string(i) + " ";
      if (m.file != ".") {
        Problem(what + "reads another file (" + m.file + ")");
        continue;
      }
      if (m.dataset != raw_path) {
        Problem(what + "reads " + m.dataset + ", not " + raw_path);
        continue;
      }
      if (m.vcount != m.scount) {
        Problem(what + "maps " + Box(m.vstart, m.vcount) + " from a box of another shape " +
                Box(m.sstart, m.scount));
        continue;
      }
      bool one_cell = true;
      for (size_t d = 0; d < rank; ++d)
        one_cell = one_cell && m.vstart[d] % chunks[d] == 0 && m.vstart[d] < ds.shape[d] &&
                   m.vcount[d] == std::min(chunks[d], ds.shape[d] - m.vstart[d]);
      if (!one_cell) {
        Problem(what + "covers " + Box(m.vstart, m.vcount) + ", not one chunk of the grid " +
                py::TupleRepr(chunks) + " over the shape " + py::TupleRepr(ds.shape));
        continue;
      }
      if (!cells.insert(m.vstart).second)
        Problem(what + "maps the chunk at " + Box(m.vstart, m.vcount) + " a second time");
      bool inside = true, aligned = m.sstart[0] % chunks[0] == 0;
      for (size_t d = 0; d < rank; ++d) {
        inside = inside && m.sstart[d] + m.scount[d] <= raw_dims[d];
        if (d > 0) aligned = aligned && m.sstart[d] == 0;
      }
      if (!inside) {
        Problem(what + "reads raw_data " + Box(m.sstart, m.scount) + ", outside its shape " +
                py::TupleRepr(std::vector<uint64_t>(raw_dims.begin(), raw_dims.end())));
        continue;
      }
      if (!aligned) {
        Problem(what + "reads raw_data " + Box(m.sstart, m.scount) +
                ", which does not start at a raw_data chunk");
        continue;
      }
      mapped_[raw_path][m.sstart[0]].insert(m.scount);
      mapped_by_[raw_path].emplace(m.sstart[0], version + ": " + path);
    }
  }

  void CheckChains() {
    std::set<std::string> reported;
    for (const auto& [name, parent] : parents_) {
      if (parent == kFirstVersionName) continue;
      if (!parents_.count(parent)) {
        Problem("version " + name + ": prev_version " + parent + " is not a version");
        continue;
      }
      // Follow the chain; a version that comes back to itself is in a loop,
      // reported once with every version in it.
      std::vector<std::string> loop{name};
      std::string at = parent;
      for (size_t steps = 0; steps <= parents_.size() && at != name; ++steps) {
        auto it = parents_.find(at);
        if (it == parents_.end()) break;
        loop.push_back(at);
        at = it->second;
      }
      if (at != name || reported.count(name)) continue;
      reported.insert(loop.begin(), loop.end());
      std::string members;
      for (const std::string& v : loop) members += v + " -> ";
      Problem("versions " + members + name + ": the prev_version chain loops and never reaches " +
              kFirstVersionName);
    }
  }

  // The hash tables of every dataset path, row by row.
  void CheckHashTables() {
    std::vector<std::string> paths = DataGroupPaths(f_.file.get());
    // Each table is an open HDF5 dataset with its chunk cache (~200 KiB):
    // one open at a time, counted first for the progress, then checked.
    std::vector<std::string> readable;
    uint64_t total = 0, done = 0;
    for (const std::string& path : paths) {
      Result<HashTable> table = OpenTable(path);
      if (!table.ok()) {
        if (!table.status().message().empty()) Problem(path + ": " + table.status().message());
        continue;
      }
      total += table->rows().size();
      readable.push_back(path);
    }
    for (size_t i = 0; i < readable.size(); ++i) {
      Result<HashTable> table = OpenTable(readable[i]);
      if (table.ok()) CheckHashTable(readable[i], *table, &done, total);
      // HDF5's free lists of what was opened meanwhile, back to the system.
      if (i % 256 == 255) H5garbage_collect();
    }
  }

  // The hash table of dataset path `path`; an error with an empty message
  // when its data group cannot be opened (reported with its versions).
  Result<HashTable> OpenTable(const std::string& path) {
    Result<h5::Handle> group = OpenCheckedGroup(f_.file.get(), layout::DataGroupPath(path));
    if (!group.ok()) return Status::NotFound("");
    if (!h5::LinkExists(group->get(), layout::kHashTable)) return Status::NotFound("no hash_table");
    Result<HashTable> table = HashTable::Open(group->get());
    if (!table.ok()) return table.status().WithContext("hash_table");
    return table;
  }

  void CheckHashTable(const std::string& path, const HashTable& table, uint64_t* done,
                      uint64_t total) {
    std::string raw_path = layout::RawDataPath(path);
    if (!fd_) fd_ = std::make_shared<Fd>(::open(f_.path.c_str(), O_RDONLY | O_CLOEXEC));
    Result<std::shared_ptr<RawData>> opened =
        RawData::Open(f_.file.get(), fd_->valid() ? fd_ : nullptr, raw_path);
    if (!opened.ok()) {
      Problem(path + ": raw_data: " + opened.status().message());
      return;
    }
    const RawData& raw = **opened;
    const std::vector<uint64_t>& chunks = raw.chunk_dims();
    const std::vector<uint64_t>& dims = raw.dims();
    bool strings = HoldsStrings(raw);
    bool hashable = strings || H5Tdetect_class(raw.type(), H5T_VLEN) <= 0;
    bool skip_strings = strings && f_.data_version < layout::kDataVersion;
    const std::set<std::vector<uint64_t>> none;
    const auto& slots = mapped_[raw_path];
    std::set<uint64_t> rows_at;
    for (size_t i = 0; i < table.rows().size(); ++i) {
      Report((*done)++, total, "hashing chunks");
      const HashTable::Row& row = table.rows()[i];
      std::string where = path + ": hash_table row " + std::to_string(i) + " [" +
                          std::to_string(row.start) + ":" + std::to_string(row.stop) + "] ";
      if (row.start < 0 || row.stop <= row.start ||
          static_cast<uint64_t>(row.start) % chunks[0] != 0 ||
          static_cast<uint64_t>(row.stop - row.start) > chunks[0]) {
        Problem(where + "is not a chunk of raw_data (chunks " + py::TupleRepr(chunks) + ")");
        continue;
      }
      uint64_t start = static_cast<uint64_t>(row.start),
               rows = static_cast<uint64_t>(row.stop - row.start);
      if (start + rows > dims[0]) {
        Problem(where + "lies beyond raw_data's " + std::to_string(dims[0]) + " rows");
        continue;
      }
      rows_at.insert(start);
      if (!hashable || skip_strings) continue;
      auto it = slots.find(start);
      const std::set<std::vector<uint64_t>>& extents = it == slots.end() ? none : it->second;
      Result<bool> matched = RowMatches(raw, row, rows, extents);
      if (!matched.ok()) {
        Problem(where + matched.status().message());
        continue;
      }
      ++report_.hash_rows;
      if (!*matched) Problem(where + "does not match the SHA-256 of the chunk it points to");
    }
    // A mapped chunk needs no row of its own when a row of the same content
    // (hash) points elsewhere, as the library's rebuilt tables have it; but
    // without its hash in the table, neither deduplication nor the library's
    // delete_versions can find it.
    if (f_.data_version < layout::kDataVersion || !hashable) return;
    for (const auto& [start, extents] : slots) {
      if (rows_at.count(start)) continue;
      for (const std::vector<uint64_t>& extent : extents) {
        std::vector<uint64_t> origin(extent.size(), 0);
        origin[0] = start;
        Result<ChunkHash> hash = HashRawChunk(raw, origin, extent);
        if (hash.ok() && table.Find(*hash)) continue;
        auto by = mapped_by_[raw_path].find(start);
        Problem(path + ": raw_data chunk at row " + std::to_string(start) +
                " is mapped (by version " + by->second + ") but no hash_table row holds its hash" +
                (hash.ok() ? "" : " (" + hash.status().message() + ")"));
        break;
      }
    }
  }

  // Whether the row's hash is that of the chunk at its slot, for one of the
  // extents mappings read there; an unmapped chunk of rank > 1 may have
  // any trailing extent, so each is tried.
  Result<bool> RowMatches(const RawData& raw, const HashTable::Row& row, uint64_t rows,
                          const std::set<std::vector<uint64_t>>& mapped) {
    const std::vector<uint64_t>& dims = raw.dims();
    size_t rank = dims.size();
    std::vector<uint64_t> start(rank, 0), full(dims);
    start[0] = static_cast<uint64_t>(row.start);
    full[0] = rows;
    std::vector<std::vector<uint64_t>> candidates;
    for (const std::vector<uint64_t>& e : mapped)
      if (e[0] == rows) candidates.push_back(e);
    if (candidates.empty()) {
      constexpr uint64_t kMostExtents = 4096;
      if (RowElements(full) <= kMostExtents) {
        // Every extent from 1 to the chunk's in each dimension but the first.
        std::vector<uint64_t> e(rank, 1), ones(rank, 1);
        e[0] = ones[0] = rows;
        do {
          candidates.push_back(e);
        } while (NextInBox(e, ones, full));
        // The whole chunk first: the usual case.
        std::reverse(candidates.begin(), candidates.end());
      } else {
        candidates.push_back(full);
      }
    }
    bool strings = HoldsStrings(raw);
    std::string block;
    std::vector<std::string> values;
    if (strings) {
      VH5_RETURN_IF_ERROR(raw.ReadStrings(start.data(), full.data(), &values));
    } else {
      block.resize(Product(full) * raw.itemsize());
      VH5_RETURN_IF_ERROR(raw.ReadBlock(start.data(), full.data(), block.data()));
    }
    for (const std::vector<uint64_t>& extent : candidates) {
      ChunkHash hash;
      if (strings) {
        std::vector<std::string_view> views;
        ForEachElement(full, extent, [&](uint64_t i) { views.push_back(values[i]); });
        hash = HashStringChunk(views, extent);
      } else {
        std::string bytes;
        bytes.reserve(Product(extent) * raw.itemsize());
        size_t item = raw.itemsize();
        ForEachElement(full, extent,
                       [&](uint64_t i) { bytes.append(block.data() + i * item, item); });
        hash = HashFixedChunk(bytes, extent);
      }
      if (hash == row.hash) return true;
    }
    return false;
  }

  // Calls `f` with the C-order index, inside a box of shape `outer`, of
  // every element of the box [0, extent) in C order.
  template <typename F>
  static void ForEachElement(const std::vector<uint64_t>& outer,
                             const std::vector<uint64_t>& extent, F f) {
    std::vector<uint64_t> origin(outer.size(), 0);
    for (BoxRows rows(outer, origin, extent); !rows.done(); rows.Next())
      for (uint64_t i = 0; i < rows.length(); ++i) f(rows.offset() + i);
  }

  OfflineFile f_;
  const Progress& progress_;
  VerifyReport report_;
  std::map<std::string, std::string> parents_;  // committed version -> prev_version
  std::map<std::string, SlotExtents> mapped_;   // raw_data path -> mapped slots
  std::map<std::string, std::map<uint64_t, std::string>> mapped_by_;  // one mapper of each slot
  std::shared_ptr<const Fd> fd_;
};

}  // namespace

Result<VerifyReport> VerifyFile(const std::string& path, const Progress& progress,
                                std::chrono::milliseconds wait) {
  OfflineOpen how;
  how.wait = wait;
  VH5_ASSIGN_OR_RETURN(OfflineFile f, OpenOffline(path, how));
  Verifier verifier(std::move(f), progress);
  return verifier.Run();
}

}  // namespace vh5
