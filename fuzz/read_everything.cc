#include "read_everything.h"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vh5/verify.h"
#include "vh5/versioned_file.h"

namespace vh5fuzz {
namespace {

[[noreturn]] void Broken(const std::string& what) {
  std::fprintf(stderr, "read_everything: broken promise: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

class Reader {
 public:
  Reader(const Limits& limits, Outcome* out) : limits_(limits), out_(out) {}

  // Counts a failed call; true when `status` is OK.
  bool Check(const vh5::Status& status) {
    if (status.ok()) return true;
    if (out_->errors++ == 0) out_->first_error = status.ToString();
    return false;
  }

  void Walk(const vh5::VersionedFile& file) {
    file_ = &file;
    std::vector<std::string> names = file.ListVersionNames();
    std::vector<vh5::VersionInfo> infos = file.ListVersions();
    for (const vh5::VersionInfo& info : infos)
      if (info.name == vh5::kFirstVersionName) Broken("ListVersions shows " + info.name);
    if (std::optional<std::string> current = file.CurrentVersion())
      Check(file.GetVersionInfo(*current).status());
    // No link name holds a '/': never a version.
    if (file.GetVersionInfo("no/version").ok()) Broken("a version named no/version");
    for (const std::string& name : names) {
      if (out_->versions >= limits_.versions || nodes_ >= limits_.nodes) break;
      vh5::Result<std::shared_ptr<const vh5::Version>> version = file.GetVersion(name);
      if (!Check(version.status())) continue;
      ++out_->versions;
      if ((*version)->info().name != name) Broken("version " + name + " names itself otherwise");
      WalkGroup(**version, "", 0);
      // The same object for every call with the same path: a second open is cached.
    }
  }

 private:
  void WalkGroup(const vh5::Version& version, const std::string& path, int depth) {
    if (++nodes_ > limits_.nodes) return;
    if (depth > 64) Broken("a version tree deeper than 64 groups was walked");
    Check(version.GetAttributes(path).status());
    // Own times walk prev_version reading headers from the file's bytes.
    Check(file_->ChangedAtNs(version.info().name, path).status());
    vh5::Result<std::vector<vh5::DirEntry>> children = version.List(path);
    if (!Check(children.status())) return;
    for (const vh5::DirEntry& e : *children) {
      if (nodes_ >= limits_.nodes) return;
      if (e.name.empty() || e.name.find('/') != std::string::npos)
        Broken("a child named \"" + e.name + "\"");
      std::string child = path.empty() ? e.name : path + "/" + e.name;
      vh5::Result<vh5::NodeKind> kind = version.Kind(child);
      if (Check(kind.status()) && *kind != e.kind) Broken(child + ": Kind disagrees with List");
      if (e.kind == vh5::NodeKind::kGroup) {
        WalkGroup(version, child, depth + 1);
      } else {
        ++nodes_;
        Check(version.GetAttributes(child).status());
        Check(file_->ChangedAtNs(version.info().name, child).status());
        vh5::Result<std::shared_ptr<const vh5::Dataset>> dataset = version.OpenDataset(child);
        if (!Check(dataset.status())) continue;
        ++out_->datasets_opened;
        ReadDataset(child, **dataset);
      }
    }
  }

  void ReadDataset(const std::string& path, const vh5::Dataset& dataset) {
    const vh5::DatasetInfo& info = dataset.info();
    uint64_t size = dataset.size();
    if (!info.dtype.is_vlen_string) {
      if (info.fill_bytes.size() != info.dtype.itemsize)
        Broken(path + ": a fill value of " + std::to_string(info.fill_bytes.size()) +
               " bytes for items of " + std::to_string(info.dtype.itemsize));
      uint64_t elements = 1;
      bool overflow = false;
      for (uint64_t d : info.shape) {
        if (d != 0 && elements > UINT64_MAX / d) overflow = true;
        elements *= d;
      }
      if (!overflow && info.dtype.itemsize != 0 && elements > UINT64_MAX / info.dtype.itemsize)
        overflow = true;
      if (!overflow && size != elements * info.dtype.itemsize)
        Broken(path + ": size " + std::to_string(size) + " is not shape x itemsize");
    }
    uint64_t piece = limits_.bytes_per_read;
    uint64_t head = std::min(size, piece);
    std::vector<std::pair<uint64_t, uint64_t>> reads = {
        {0, head},
        {size / 2 - std::min(size / 2, piece / 2), piece},
        {size - head, head},
        {size / 3 + 1, std::min<uint64_t>(piece, 1001)},
        {size, 16},                   // at the end: nothing
        {UINT64_MAX - 8, 16},         // a huge offset: nothing
        {uint64_t{1} << 62, piece}};  // another one
    std::vector<char> buf(piece);
    std::vector<char> again(piece);
    for (auto [offset, len] : reads) {
      vh5::Result<size_t> n = dataset.Read(offset, len, buf.data());
      if (!Check(n.status())) continue;
      uint64_t want = offset >= size ? 0 : std::min(len, size - offset);
      if (*n != want)
        Broken(path + ": Read(" + std::to_string(offset) + ", " + std::to_string(len) + ") gave " +
               std::to_string(*n) + " bytes of " + std::to_string(want));
      out_->bytes_read += *n;
      CheckRuns(path, dataset, offset, len, buf.data(), *n, &again);
    }
  }

  // Locate's runs cover what Read gave, and the file's own runs hold its bytes.
  void CheckRuns(const std::string& path, const vh5::Dataset& dataset, uint64_t offset,
                 uint64_t len, const char* read, size_t n, std::vector<char>* scratch) {
    std::vector<vh5::Dataset::Run> runs;
    vh5::ReadHold hold;
    if (!Check(dataset.Locate(offset, len, &runs, &hold))) return;
    uint64_t total = 0;
    for (const vh5::Dataset::Run& run : runs) {
      if (run.file_offset >= 0) {
        int fd = hold.fd();
        if (fd < 0) Broken(path + ": a file run without a file");
        if (total + run.length > n) Broken(path + ": runs past what Read gave");
        scratch->resize(run.length);
        ssize_t got = ::pread(fd, scratch->data(), run.length, run.file_offset);
        if (got == static_cast<ssize_t>(run.length) &&
            !std::equal(scratch->begin(), scratch->end(), read + total))
          Broken(path + ": a file run's bytes differ from Read's at " +
                 std::to_string(offset + total));
      }
      total += run.length;
    }
    if (total != n)
      Broken(path + ": runs of " + std::to_string(total) + " bytes where Read gave " +
             std::to_string(n));
  }

  const Limits& limits_;
  Outcome* out_;
  size_t nodes_ = 0;
  const vh5::VersionedFile* file_ = nullptr;
};

}  // namespace

Outcome ReadEverything(const std::string& path, const Limits& limits) {
  Outcome out;
  Reader reader(limits, &out);
  {
    vh5::Result<std::shared_ptr<vh5::VersionedFile>> file = vh5::VersionedFile::OpenReadOnly(path);
    if (reader.Check(file.status())) {
      out.opened = true;
      reader.Walk(**file);
    }
  }
  if (limits.verify) reader.Check(vh5::VerifyFile(path).status());
  // Every HDF5 object the engine opened is owned by a handle that closed it.
  ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open != 0) Broken(std::to_string(open) + " HDF5 objects left open");
  return out;
}

}  // namespace vh5fuzz
