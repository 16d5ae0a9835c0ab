#include "vh5/delete_versions.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "format/chunk_hash.h"
#include "format/file_layout.h"
#include "format/file_walk.h"
#include "format/hash_table.h"
#include "format/object_check.h"
#include "format/stored_dataset.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/attributes.h"
#include "offline/chunk_copy.h"
#include "offline/offline_file.h"
#include "offline/raw_chunk_hash.h"
#include "read/file_core.h"
#include "read/raw_data.h"

namespace vh5 {
namespace {

// A box of raw_data some remaining version maps: its start and extent.
struct Box {
  std::vector<uint64_t> start, count;
  bool operator<(const Box& o) const {
    return std::tie(start[0], start, count) < std::tie(o.start[0], o.start, o.count);
  }
};

// What deleting does to one dataset path, planned before anything is written.
struct PathPlan {
  std::string path;       // relative to /_version_data
  std::string raw_path;   // /_version_data/<path>/raw_data
  std::vector<Box> keep;  // in their new order: keep[i] moves to slot i
  std::map<Box, size_t> slot_of;
  std::vector<HashTable::Row> rows;  // the new hash table
  bool remains = false;              // some remaining version holds the path
  std::vector<std::string> rewrite;  // remaining versions whose dataset is virtual
  std::vector<uint64_t> chunks;      // raw_data's chunk shape
};

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool IsDatasetIn(hid_t versions, const std::string& version, const std::string& path) {
  std::string full = version + "/" + path;
  if (!h5::LinkExists(versions, full)) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name2(versions, full.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    h5::TakeErrorStack();
    return false;
  }
  return info.type == H5O_TYPE_DATASET;
}

// Bytes HDF5 stores for the raw_data and hash tables, and raw_data chunks.
void Storage(hid_t file, uint64_t* bytes, uint64_t* chunks) {
  *bytes = *chunks = 0;
  for (const std::string& path : DataGroupPaths(file)) {
    for (const char* name : {layout::kRawData, layout::kHashTable}) {
      Result<h5::Handle> ds = OpenCheckedDataset(file, layout::DataGroupPath(path) + "/" + name);
      if (!ds.ok()) continue;
      *bytes += H5Dget_storage_size(ds->get());
      if (std::string(name) != layout::kRawData) continue;
      h5::Handle space(H5Dget_space(ds->get()));
      h5::Handle dcpl(H5Dget_create_plist(ds->get()));
      int rank = H5Sget_simple_extent_ndims(space.get());
      std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 1))), chunk(dims.size());
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      if (rank > 0 && H5Pget_chunk(dcpl.get(), rank, chunk.data()) == rank && chunk[0] > 0)
        *chunks += (dims[0] + chunk[0] - 1) / chunk[0];
    }
  }
  h5::TakeErrorStack();
}

class Deleter {
 public:
  Deleter(const std::string& path, const std::vector<std::string>& names, const Progress& progress)
      : path_(path), progress_(progress) {
    for (const std::string& n : names)
      if (doomed_.insert(n).second) report_.deleted.push_back(n);
  }

  // Read-only: everything that could refuse the deletion.
  Status Check(const OfflineFile& f) {
    for (const std::string& name : report_.deleted) {
      if (name == kFirstVersionName)
        return Status::InvalidArgument(std::string("cannot delete ") + kFirstVersionName);
      if (!h5::LinkExists(f.versions.get(), name) || name.find('/') != std::string::npos)
        return Status::NotFound(path_ + ": no version " + name);
    }
    return Plan(f);
  }

  Result<DeleteReport> Run(std::chrono::milliseconds wait) {
    Deleter* self = this;
    OfflineOpen how;
    how.access = VersionedFile::Access::kReadWrite;
    how.wait = wait;
    how.check = [self](const OfflineFile& ro) { return self->Check(ro); };
    VH5_ASSIGN_OR_RETURN(OfflineFile f, OpenOffline(path_, how));
    report_.file_bytes_before = FileSize(path_);
    Storage(f.file.get(), &report_.stored_bytes_before, &report_.chunks_before);
    Status s = Apply(f);
    if (!s.ok()) return s.WithContext(path_);
    Storage(f.file.get(), &report_.stored_bytes_after, &report_.chunks_after);
    VH5_RETURN_IF_ERROR(f.Apply());
    report_.file_bytes_after = FileSize(path_);
    return report_;
  }

 private:
  void Report(std::string_view stage, uint64_t done, uint64_t total) {
    if (progress_ && total > 0) progress_(stage, done, total);
  }

  Status Plan(const OfflineFile& f) {
    hid_t versions = f.versions.get();
    all_ = HardLinks(versions);
    VH5_ASSIGN_OR_RETURN(std::string current,
                         h5::ReadStringAttribute(versions, layout::kCurrentVersionAttr));
    for (size_t steps = 0; doomed_.count(current) && steps <= all_.size(); ++steps) {
      Result<h5::Handle> group = OpenCheckedGroup(versions, current);
      Result<std::string> prev =
          group.ok() ? h5::ReadStringAttribute(group->get(), layout::kPrevVersionAttr)
                     : Result<std::string>(group.status());
      current = prev.ok() ? *prev : kFirstVersionName;
    }
    report_.current_version = doomed_.count(current) ? kFirstVersionName : current;
    for (const std::string& name : all_) {
      if (name == kFirstVersionName || doomed_.count(name)) continue;
      std::string prev = PrevVersion(versions, name);
      std::string parent = prev;
      for (size_t steps = 0; doomed_.count(parent) && steps <= all_.size(); ++steps)
        parent = PrevVersion(versions, parent);
      if (parent != prev) new_parents_[name] = parent;
    }
    for (const std::string& path : DataGroupPaths(f.file.get())) {
      Status s = PlanPath(f, path);
      if (!s.ok()) return s.WithContext(path_ + ": " + path);
    }
    return Status::OK();
  }

  std::string PrevVersion(hid_t versions, const std::string& name) {
    Result<h5::Handle> group = OpenCheckedGroup(versions, name);
    if (!group.ok()) return kFirstVersionName;
    Result<std::string> prev = h5::ReadStringAttribute(group->get(), layout::kPrevVersionAttr);
    return prev.ok() ? *prev : kFirstVersionName;
  }

  Status PlanPath(const OfflineFile& f, const std::string& path) {
    hid_t versions = f.versions.get();
    PathPlan plan;
    plan.path = path;
    plan.raw_path = layout::RawDataPath(path);
    // A path whose deleted versions hold no data keeps everything as it is.
    bool touched = false;
    for (const std::string& v : report_.deleted) {
      if (!IsDatasetIn(versions, v, path)) continue;
      VH5_ASSIGN_OR_RETURN(StoredDataset ds, OpenStoredDataset(versions, v + "/" + path));
      touched = touched || ds.is_virtual;
    }
    if (!touched) return Status::OK();

    VH5_ASSIGN_OR_RETURN(h5::Handle raw, OpenCheckedDataset(f.file.get(), plan.raw_path));
    h5::Handle raw_dcpl(H5Dget_create_plist(raw.get()));
    h5::Handle raw_space(H5Dget_space(raw.get()));
    int rank = H5Sget_simple_extent_ndims(raw_space.get());
    std::vector<hsize_t> chunk(static_cast<size_t>(std::max(rank, 0))), dims(chunk.size());
    if (rank <= 0 || H5Pget_chunk(raw_dcpl.get(), rank, chunk.data()) != rank)
      return Status::Corruption("raw_data is not chunked");
    H5Sget_simple_extent_dims(raw_space.get(), dims.data(), nullptr);
    plan.chunks.assign(chunk.begin(), chunk.end());

    std::set<Box> boxes;
    for (const std::string& v : all_) {
      if (doomed_.count(v) || !IsDatasetIn(versions, v, path)) continue;
      plan.remains = true;
      VH5_ASSIGN_OR_RETURN(StoredDataset ds, OpenStoredDataset(versions, v + "/" + path));
      if (!ds.is_virtual) continue;
      plan.rewrite.push_back(v);
      for (const VirtualMapping& m : ds.mappings) {
        bool ok = m.file == "." && m.dataset == plan.raw_path && m.vcount == m.scount &&
                  m.sstart.size() == static_cast<size_t>(rank) && m.sstart[0] % chunk[0] == 0;
        for (int d = 0; ok && d < rank; ++d)
          ok = m.sstart[d] + m.scount[d] <= dims[d] && (d == 0 || m.sstart[d] == 0) &&
               m.scount[d] <= chunk[d];
        if (!ok)
          return Status::Corruption("version " + v + " maps a box that is not one raw_data chunk");
        boxes.insert(Box{m.sstart, m.scount});
      }
    }
    plan.keep.assign(boxes.begin(), boxes.end());
    // Chunks move towards the front in order, each read before its slot is
    // reused; two extents read from one chunk would break that.
    for (size_t i = 1; i < plan.keep.size(); ++i)
      if (plan.keep[i].start[0] == plan.keep[i - 1].start[0])
        return Status::Corruption("two mappings read the raw_data chunk at row " +
                                  std::to_string(plan.keep[i].start[0]) +
                                  " with different extents (run vh5 verify)");
    if (!plan.remains) {
      plans_.push_back(std::move(plan));
      return Status::OK();
    }
    // The kept chunks' rows, from the old table (found by their rows on
    // axis 0, as the library's Hashtable.inverse() finds them).
    VH5_ASSIGN_OR_RETURN(h5::Handle group,
                         OpenCheckedGroup(f.file.get(), layout::DataGroupPath(path)));
    if (!h5::LinkExists(group.get(), layout::kHashTable))
      return Status::Corruption("no hash_table (run vh5 verify)");
    VH5_ASSIGN_OR_RETURN(HashTable old, HashTable::Open(group.get()));
    std::map<std::pair<int64_t, int64_t>, ChunkHash> inverse;
    for (const HashTable::Row& r : old.rows()) inverse[{r.start, r.stop}] = r.hash;
    std::shared_ptr<RawData> raw_reader;
    for (size_t i = 0; i < plan.keep.size(); ++i) {
      const Box& b = plan.keep[i];
      plan.slot_of[b] = i;
      int64_t start = static_cast<int64_t>(b.start[0]);
      int64_t stop = start + static_cast<int64_t>(b.count[0]);
      auto it = inverse.find({start, stop});
      ChunkHash hash;
      if (it != inverse.end()) {
        hash = it->second;
      } else {
        // The library would fail here; hashing the chunk keeps the table whole.
        if (!raw_reader) {
          VH5_ASSIGN_OR_RETURN(raw_reader, RawData::Open(f.file.get(), nullptr, plan.raw_path));
        }
        VH5_ASSIGN_OR_RETURN(hash, HashRawChunk(*raw_reader, b.start, b.count));
      }
      int64_t new_start = static_cast<int64_t>(i * chunk[0]);
      plan.rows.push_back({hash, new_start, new_start + (stop - start)});
    }
    plans_.push_back(std::move(plan));
    return Status::OK();
  }

  Status Apply(const OfflineFile& f) {
    uint64_t moves = 0, rewrites = 0, done = 0;
    for (const PathPlan& p : plans_) {
      moves += p.keep.size();
      rewrites += p.rewrite.size();
    }
    for (const PathPlan& p : plans_) {
      Status s = Compact(f, p, &done, moves);
      if (!s.ok()) return s.WithContext(p.path);
    }
    done = 0;
    for (const PathPlan& p : plans_) {
      if (!p.remains) continue;
      VH5_ASSIGN_OR_RETURN(h5::Handle group,
                           OpenCheckedGroup(f.file.get(), layout::DataGroupPath(p.path)));
      VH5_RETURN_IF_ERROR(HashTable::Replace(group.get(), p.rows).WithContext(p.path));
      for (const std::string& v : p.rewrite) {
        Report("rewriting versions", done++, rewrites);
        Status s = Recreate(f, p, v);
        if (!s.ok()) return s.WithContext("version " + v + ": " + p.path);
      }
    }
    hid_t versions = f.versions.get();
    for (const auto& [name, parent] : new_parents_) {
      VH5_ASSIGN_OR_RETURN(h5::Handle group, OpenCheckedGroup(versions, name));
      VH5_RETURN_IF_ERROR(
          WriteAttribute(group.get(), Attribute{layout::kPrevVersionAttr, parent, ""}));
    }
    for (const std::string& name : report_.deleted)
      if (H5Ldelete(versions, name.c_str(), H5P_DEFAULT) < 0)
        return h5::Error("cannot delete version " + name);
    return WriteAttribute(versions,
                          Attribute{layout::kCurrentVersionAttr, report_.current_version, ""});
  }

  // Moves the kept chunks to the front of raw_data and shrinks it to them;
  // a path no remaining version holds loses its raw_data and hash table.
  Status Compact(const OfflineFile& f, const PathPlan& p, uint64_t* done, uint64_t total) {
    std::string group_path = layout::DataGroupPath(p.path);
    if (!p.remains) {
      VH5_ASSIGN_OR_RETURN(h5::Handle group, OpenCheckedGroup(f.file.get(), group_path));
      std::vector<std::string> children = HardLinks(group.get());
      group.Reset();
      bool only_ours = std::all_of(children.begin(), children.end(), [](const std::string& c) {
        return c == layout::kRawData || c == layout::kHashTable || c == "_tmp_hash_table";
      });
      // The library deletes the whole group; a group that also holds another
      // dataset path's data keeps it.
      if (only_ours) {
        if (H5Ldelete(f.file.get(), group_path.c_str(), H5P_DEFAULT) < 0)
          return h5::Error("cannot delete " + group_path);
        return Status::OK();
      }
      for (const std::string& c : children) {
        std::string link = group_path + "/" + c;
        if ((c == layout::kRawData || c == layout::kHashTable) &&
            H5Ldelete(f.file.get(), link.c_str(), H5P_DEFAULT) < 0)
          return h5::Error("cannot delete " + link);
      }
      return Status::OK();
    }
    VH5_ASSIGN_OR_RETURN(h5::Handle raw, OpenCheckedDataset(f.file.get(), p.raw_path));
    size_t rank = p.chunks.size();
    for (size_t i = 0; i < p.keep.size(); ++i) {
      Report("moving chunks", (*done)++, total);
      std::vector<hsize_t> from(p.keep[i].start.begin(), p.keep[i].start.end());
      std::vector<hsize_t> to(rank, 0);
      to[0] = i * p.chunks[0];
      if (from == to) continue;
      VH5_RETURN_IF_ERROR(CopyChunk(raw.get(), from, raw.get(), to));
    }
    std::vector<hsize_t> dims(p.chunks.begin(), p.chunks.end());
    dims[0] = p.keep.size() * p.chunks[0];
    if (H5Dset_extent(raw.get(), dims.data()) < 0) return h5::Error("cannot shrink raw_data");
    return Status::OK();
  }

  // Replaces version `v`'s dataset by one mapping the moved chunks, as the
  // library's _recreate_virtual_dataset does: built under "_tmp_<name>"
  // beside it, then moved over it.
  Status Recreate(const OfflineFile& f, const PathPlan& p, const std::string& v) {
    hid_t versions = f.versions.get();
    std::string full = v + "/" + p.path;
    VH5_ASSIGN_OR_RETURN(StoredDataset old, OpenStoredDataset(versions, full));
    VH5_ASSIGN_OR_RETURN(h5::Handle raw, OpenCheckedDataset(f.file.get(), p.raw_path));
    h5::Handle raw_space(H5Dget_space(raw.get()));
    h5::Handle space(H5Dget_space(old.dataset.get()));
    size_t rank = old.shape.size();

    h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5D_fill_value_t fill_state;
    bool vlen = H5Tis_variable_str(old.type.get()) > 0;
    if (!vlen && H5Pfill_value_defined(old.dcpl.get(), &fill_state) >= 0 &&
        fill_state == H5D_FILL_VALUE_USER_DEFINED) {
      std::vector<char> fill(H5Tget_size(old.type.get()));
      if (H5Pget_fill_value(old.dcpl.get(), old.type.get(), fill.data()) < 0 ||
          H5Pset_fill_value(dcpl.get(), old.type.get(), fill.data()) < 0)
        return h5::Error("cannot copy the fill value");
    }
    for (const VirtualMapping& m : old.mappings) {
      auto slot = p.slot_of.find(Box{m.sstart, m.scount});
      if (slot == p.slot_of.end()) return Status::Corruption("a mapping the plan did not keep");
      std::vector<uint64_t> sstart(rank, 0);
      sstart[0] = slot->second * p.chunks[0];
      VH5_RETURN_IF_ERROR(h5::MapVirtualBox(dcpl.get(), space.get(), m.vstart, m.vcount, p.raw_path,
                                            raw_space.get(), sstart));
    }
    // Every chunk is fill: a virtual layout with no mapping, as vh5fs writes it.
    if (old.mappings.empty()) h5::SetVirtualLayoutWithoutMappings(dcpl.get());
    size_t slash = full.rfind('/');
    std::string parent_path = full.substr(0, slash), name = full.substr(slash + 1);
    std::string tmp = "_tmp_" + name;
    VH5_ASSIGN_OR_RETURN(h5::Handle parent, OpenCheckedGroup(versions, parent_path));
    if (h5::LinkExists(parent.get(), tmp) && H5Ldelete(parent.get(), tmp.c_str(), H5P_DEFAULT) < 0)
      return h5::Error("cannot remove a stale " + tmp);
    {
      h5::Handle created(H5Dcreate2(parent.get(), tmp.c_str(), old.type.get(), space.get(),
                                    H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
      if (!created) return h5::Error("cannot create " + tmp);
      VH5_RETURN_IF_ERROR(CopyAttributes(old.dataset.get(), created.get()));
    }
    old = StoredDataset();
    if (H5Ldelete(parent.get(), name.c_str(), H5P_DEFAULT) < 0 ||
        H5Lmove(parent.get(), tmp.c_str(), parent.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT) <
            0)
      return h5::Error("cannot move " + tmp + " into place");
    return Status::OK();
  }

  std::string path_;
  const Progress& progress_;
  DeleteReport report_;
  std::set<std::string> doomed_;
  std::vector<std::string> all_;  // every version group, __first_version__ included
  std::map<std::string, std::string> new_parents_;
  std::vector<PathPlan> plans_;
};

}  // namespace

Result<DeleteReport> DeleteVersions(const std::string& path, const std::vector<std::string>& names,
                                    const Progress& progress, std::chrono::milliseconds wait) {
  if (names.empty()) return Status::InvalidArgument("no version to delete");
  Deleter deleter(path, names, progress);
  return deleter.Run(wait);
}

}  // namespace vh5
