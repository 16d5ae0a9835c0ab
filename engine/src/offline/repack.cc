#include "vh5/repack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "format/file_layout.h"
#include "format/file_walk.h"
#include "hdf5/attributes.h"
#include "offline/chunk_copy.h"
#include "offline/offline_file.h"
#include "util/fd.h"
#include "vh5/shape.h"

namespace vh5 {
namespace {

struct LinkEntry {
  std::string name;
  H5L_type_t type;
};

herr_t CollectLink(hid_t, const char* name, const H5L_info_t* info, void* data) {
  static_cast<std::vector<LinkEntry>*>(data)->push_back({name, info->type});
  return 0;
}

bool IsRawData(hid_t dataset, const std::string& name) {
  h5::Handle dcpl(H5Dget_create_plist(dataset));
  return name == layout::kRawData && H5Pget_layout(dcpl.get()) == H5D_CHUNKED;
}

// The origins of every chunk of a chunked dataset, in C order.
std::vector<std::vector<hsize_t>> ChunkOrigins(hid_t dataset) {
  h5::Handle dcpl(H5Dget_create_plist(dataset));
  h5::Handle space(H5Dget_space(dataset));
  int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<std::vector<hsize_t>> out;
  if (rank <= 0) return out;
  std::vector<hsize_t> dims(static_cast<size_t>(rank)), chunk(dims.size());
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  if (H5Pget_chunk(dcpl.get(), rank, chunk.data()) != rank) return out;
  for (hsize_t d : dims)
    if (d == 0) return out;
  std::vector<uint64_t> first(dims.size(), 0), last(dims.size()), cell(dims.size(), 0);
  for (size_t d = 0; d < dims.size(); ++d) last[d] = (dims[d] - 1) / chunk[d];
  do {
    std::vector<hsize_t> origin(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) origin[d] = cell[d] * chunk[d];
    out.push_back(std::move(origin));
  } while (NextInBox(cell, first, last));
  return out;
}

class Copier {
 public:
  Copier(hid_t src, hid_t dst, const Progress& progress)
      : src_(src), dst_(dst), progress_(progress) {}

  Status Run() {
    h5::Handle src_root(H5Gopen2(src_, "/", H5P_DEFAULT));
    h5::Handle dst_root(H5Gopen2(dst_, "/", H5P_DEFAULT));
    if (!src_root || !dst_root) return h5::Error("cannot open the root groups");
    VisitTree(src_root.get(),
              [&](const std::string&, hid_t parent, const std::string& name, H5O_type_t type) {
                if (type != H5O_TYPE_DATASET) {
                  ++total_;
                  return;
                }
                h5::Handle ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT));
                total_ += ds && IsRawData(ds.get(), name) ? ChunkOrigins(ds.get()).size() : 1;
              });
    h5::TakeErrorStack();
    VH5_RETURN_IF_ERROR(CopyAttributes(src_root.get(), dst_root.get()).WithContext("/"));
    H5O_info_t root;
    if (H5Oget_info2(src_root.get(), &root, H5O_INFO_BASIC) < 0)
      return h5::Error("cannot inspect the root group");
    copied_[root.addr] = "/";
    return CopyGroup(src_root.get(), dst_root.get(), "");
  }

 private:
  void Step() {
    if (progress_ && total_ > 0) progress_("copying", done_, total_);
    ++done_;
  }

  Status CopyGroup(hid_t from, hid_t to, const std::string& prefix) {
    std::vector<LinkEntry> links;
    hsize_t idx = 0;
    if (H5Literate(from, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectLink, &links) < 0)
      return h5::Error("cannot list " + (prefix.empty() ? "/" : prefix));
    for (const LinkEntry& link : links) {
      Status s = CopyLink(from, to, link, prefix + "/" + link.name);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  Status CopyLink(hid_t from, hid_t to, const LinkEntry& link, const std::string& path) {
    const char* name = link.name.c_str();
    if (link.type == H5L_TYPE_SOFT || link.type == H5L_TYPE_EXTERNAL) {
      H5L_info_t info;
      if (H5Lget_info(from, name, &info, H5P_DEFAULT) < 0) return h5::Error("cannot read " + path);
      std::vector<char> value(info.u.val_size + 1, '\0');
      if (H5Lget_val(from, name, value.data(), value.size(), H5P_DEFAULT) < 0)
        return h5::Error("cannot read " + path);
      if (link.type == H5L_TYPE_SOFT) {
        if (H5Lcreate_soft(value.data(), to, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
          return h5::Error("cannot create " + path);
        return Status::OK();
      }
      const char *file = nullptr, *object = nullptr;
      unsigned flags = 0;
      if (H5Lunpack_elink_val(value.data(), info.u.val_size, &flags, &file, &object) < 0 ||
          H5Lcreate_external(file, object, to, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
        return h5::Error("cannot copy the external link " + path);
      return Status::OK();
    }
    if (link.type != H5L_TYPE_HARD) return Status::Unsupported(path + ": a user-defined link");
    H5O_info_t info;
    if (H5Oget_info_by_name2(from, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
      return h5::Error("cannot inspect " + path);
    Step();
    // An object linked again (a cycle, two paths to one group) is linked
    // again in the copy, not copied twice, or forever.
    auto [first, added] = copied_.emplace(info.addr, path);
    if (!added) {
      if (H5Lcreate_hard(dst_, first->second.c_str(), to, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
        return h5::Error("cannot link " + path + " to " + first->second);
      return Status::OK();
    }
    if (info.type == H5O_TYPE_GROUP) {
      if (std::count(path.begin(), path.end(), '/') >= kMaxGroupDepth)
        return Status::Corruption(path + ": " + kNestedTooDeep);
      h5::Handle src(H5Gopen2(from, name, H5P_DEFAULT));
      h5::Handle gcpl(src ? H5Gget_create_plist(src.get()) : H5I_INVALID_HID);
      h5::Handle dst(H5Gcreate2(to, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT));
      if (!src || !dst) return h5::Error("cannot copy the group " + path);
      VH5_RETURN_IF_ERROR(CopyAttributes(src.get(), dst.get()).WithContext(path));
      return CopyGroup(src.get(), dst.get(), path);
    }
    if (info.type == H5O_TYPE_DATASET) {
      h5::Handle src(H5Dopen2(from, name, H5P_DEFAULT));
      if (!src) return h5::Error("cannot open " + path);
      if (IsRawData(src.get(), link.name)) return CopyRawData(src.get(), to, link.name, path);
    }
    if (H5Ocopy(from, name, to, name, H5P_DEFAULT, H5P_DEFAULT) < 0)
      return h5::Error("cannot copy " + path);
    return Status::OK();
  }

  // raw_data chunk by chunk, so that a large file shows its progress.
  Status CopyRawData(hid_t src, hid_t to, const std::string& name, const std::string& path) {
    h5::Handle type(H5Dget_type(src)), space(H5Dget_space(src)), dcpl(H5Dget_create_plist(src));
    h5::Handle dst(H5Dcreate2(to, name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(),
                              H5P_DEFAULT));
    if (!dst) return h5::Error("cannot create " + path);
    VH5_RETURN_IF_ERROR(CopyAttributes(src, dst.get()).WithContext(path));
    std::vector<std::vector<hsize_t>> origins = ChunkOrigins(src);
    for (size_t i = 0; i < origins.size(); ++i) {
      if (i) Step();
      hsize_t stored = 0;
      if (H5Dget_chunk_storage_size(src, origins[i].data(), &stored) < 0 || stored == 0) {
        h5::TakeErrorStack();
        continue;  // never written: reads as fill in the copy too
      }
      VH5_RETURN_IF_ERROR(CopyChunk(src, origins[i], dst.get(), origins[i]).WithContext(path));
    }
    return Status::OK();
  }

  hid_t src_, dst_;
  const Progress& progress_;
  uint64_t total_ = 0, done_ = 0;
  std::unordered_map<uint64_t, std::string> copied_;  // source header address -> path in the copy
};

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

Status SyncPath(const std::string& path, int flags) {
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0)
    return Status::IOError(path + ": cannot flush to disk: " + std::strerror(errno));
  return Status::OK();
}

// Copies the user block (the bytes before the superblock) of `from` into `to`.
Status CopyUserBlock(const std::string& from, const std::string& to, hsize_t size) {
  if (size == 0) return Status::OK();
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC)), out(::open(to.c_str(), O_WRONLY | O_CLOEXEC));
  std::vector<char> buf(size);
  if (!in.valid() || !out.valid() ||
      ::pread(in.get(), buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size()) ||
      ::pwrite(out.get(), buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size()))
    return Status::IOError(to + ": cannot copy the user block: " + std::strerror(errno));
  return Status::OK();
}

Status WriteCopy(const OfflineFile& f, const std::string& tmp, const struct stat& st,
                 const Progress& progress) {
  h5::Handle fcpl(H5Fget_create_plist(f.file.get()));
  h5::Handle src_fapl(H5Fget_access_plist(f.file.get()));
  h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5F_libver_t low = H5F_LIBVER_EARLIEST, high = H5F_LIBVER_LATEST;
  if (H5Pget_libver_bounds(src_fapl.get(), &low, &high) >= 0)
    H5Pset_libver_bounds(fapl.get(), low, high);
  hsize_t userblock = 0;
  H5Pget_userblock(fcpl.get(), &userblock);
  {
    h5::Handle dst(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()));
    if (!dst) return h5::Error(tmp + ": cannot create");
    Copier copier(f.file.get(), dst.get(), progress);
    VH5_RETURN_IF_ERROR(copier.Run());
    if (H5Fflush(dst.get(), H5F_SCOPE_GLOBAL) < 0) return h5::Error(tmp + ": cannot flush");
  }
  VH5_RETURN_IF_ERROR(CopyUserBlock(f.path, tmp, userblock));
  if (::chmod(tmp.c_str(), st.st_mode & 07777) != 0)
    return Status::IOError(tmp + ": cannot set its permissions: " + std::strerror(errno));
  if (::chown(tmp.c_str(), st.st_uid, st.st_gid) != 0) {
    // Only root may give a file away; the copy then stays the caller's.
  }
  return SyncPath(tmp, O_RDONLY);
}

}  // namespace

Result<RepackReport> Repack(const std::string& path, const Progress& progress,
                            std::chrono::milliseconds wait) {
  RepackReport report;
  // Exclusive until the copy has replaced the file: a writer of the old
  // file meanwhile would lose its change. Those waiting for it then lock
  // the new file (held_lock.h).
  OfflineOpen how;
  how.exclusive = true;
  how.wait = wait;
  VH5_ASSIGN_OR_RETURN(OfflineFile f, OpenOffline(path, how));
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::IOError(path + ": " + std::strerror(errno));
  report.file_bytes_before = static_cast<uint64_t>(st.st_size);
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = (slash == std::string::npos ? "" : dir) + "." + base + ".vh5-repack-XXXXXX";
  Fd made(::mkstemp(tmp.data()));
  if (!made.valid())
    return Status::IOError(tmp + ": cannot create beside the file: " + std::strerror(errno));
  made = Fd();
  Status written = WriteCopy(f, tmp, st, progress);
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = Status::IOError(path + ": cannot rename the copy over it: " + std::strerror(errno));
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written.WithContext(path);
  }
  // The rename itself reaches the disk with the directory.
  VH5_RETURN_IF_ERROR(SyncPath(dir, O_RDONLY | O_DIRECTORY));
  report.file_bytes_after = FileSize(path);
  return report;
}

}  // namespace vh5
