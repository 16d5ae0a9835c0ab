// bench_gen: makes the benchmark's data with vh5fs's own writer: the public
// API, and the commit plans staging makes (commit/version_plan.h), so that
// a version changing one element costs what it costs through staging/. Content is pseudo-random, a
// pure function of (seed, element index), so no two chunks repeat and the same bytes can be written
// to a plain file for the baselines without holding them in memory.
//
//   bench_gen seq FILE MIB CHUNK_ELEMENTS [RAW_OUT|-] [VERSIONS] [COMPRESSION]
//       version "v1" holding the 1-D <f8 dataset "big" of MIB MiB (seed 1);
//       RAW_OUT, when given, gets the same bytes as a plain file. With
//       VERSIONS > 1, versions v2, v3, ... follow, each changing one element
//       of one chunk of "big": datasets that share all but a few chunks.
//       COMPRESSION as vh5::NewDataset spells it ("gzip:4", "lzf"); default none.
//   bench_gen raw OUT MIB SEED
//       MIB MiB of <f8 elements with another seed (a rewrite with all new bytes)
//   bench_gen grid FILE ROWS COLS CHUNK_ROWS CHUNK_COLS [RAW_OUT]
//       version "v1" holding the 2-D <f4 dataset "grid" (seed 2)
//   bench_gen versions FILE COUNT
//       COUNT versions v00000, v00001, ... committed one by one, each
//       changing one chunk of data/series and
//       the attribute "revision" of the group meta, other datasets unchanged
//   bench_gen wide FILE COUNT ELEMENTS
//       version "v1" holding COUNT 1-D <f8 datasets d00000, d00001, ... of
//       ELEMENTS elements each (seed 4), in chunks of 4096 elements
//   bench_gen widev FILE DATASETS VERSIONS
//       versions w001, w002, ... of DATASETS 1-D <f8 datasets d00000, d00001,
//       ... of 100 elements in one chunk each (seed 4 + index); each version
//       after the first changes one element of one dataset, the others kept
//   bench_gen times FILE COUNT
//       COUNT versions v00000, ... of 100 datasets d000..d099 at the root
//       (512 <f8, one chunk each); d000 changes in v00002 and nothing after,
//       the group meta's attribute "revision" in every version
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commit/atomic_commit.h"
#include "commit/version_plan.h"
#include "vh5/byte_source.h"
#include "vh5/writer.h"

namespace {

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Element `i` of the stream `seed`, as `itemsize` (4 or 8) little-endian bytes
// of a float in [0, 1).
void Element(uint64_t seed, uint64_t i, size_t itemsize, char* out) {
  uint64_t r = SplitMix(i ^ (seed << 48) ^ SplitMix(seed));
  if (itemsize == 8) {
    double v = static_cast<double>(r >> 11) / 9007199254740992.0;
    std::memcpy(out, &v, 8);
  } else {
    float v = static_cast<float>(r >> 40) / 16777216.0f;
    std::memcpy(out, &v, 4);
  }
}

// The stream as bytes, computed on demand.
class RandomSource final : public vh5::ByteSource {
 public:
  RandomSource(uint64_t seed, uint64_t elements, size_t itemsize)
      : seed_(seed), elements_(elements), itemsize_(itemsize) {}
  uint64_t size() const override { return elements_ * itemsize_; }
  vh5::Result<size_t> Read(uint64_t offset, size_t len, char* out) const override {
    uint64_t end = std::min<uint64_t>(offset + len, size());
    if (offset >= end) return size_t{0};
    char tmp[8];
    for (uint64_t pos = offset; pos < end;) {
      uint64_t i = pos / itemsize_;
      size_t skip = pos % itemsize_;
      size_t n = static_cast<size_t>(std::min<uint64_t>(itemsize_ - skip, end - pos));
      if (skip == 0 && n == itemsize_) {
        Element(seed_, i, itemsize_, out + (pos - offset));
      } else {
        Element(seed_, i, itemsize_, tmp);
        std::memcpy(out + (pos - offset), tmp + skip, n);
      }
      pos += n;
    }
    return static_cast<size_t>(end - offset);
  }

 private:
  uint64_t seed_, elements_;
  size_t itemsize_;
};

// `base` with some 8-byte elements replaced.
class PatchedSource final : public vh5::ByteSource {
 public:
  explicit PatchedSource(std::shared_ptr<const vh5::ByteSource> base) : base_(std::move(base)) {}
  void Patch(uint64_t offset, double value) { patches_.emplace_back(offset, value); }
  uint64_t size() const override { return base_->size(); }
  vh5::Result<size_t> Read(uint64_t offset, size_t len, char* out) const override {
    vh5::Result<size_t> n = base_->Read(offset, len, out);
    if (!n.ok()) return n;
    uint64_t end = offset + *n;
    for (const auto& [at, value] : patches_) {
      uint64_t from = std::max(at, offset), to = std::min(at + 8, end);
      if (from < to)
        std::memcpy(out + (from - offset), reinterpret_cast<const char*>(&value) + (from - at),
                    to - from);
    }
    return n;
  }

 private:
  std::shared_ptr<const vh5::ByteSource> base_;
  std::vector<std::pair<uint64_t, double>> patches_;  // 8-byte aligned offsets
};

// Bytes held by the caller, not copied.
class ViewSource final : public vh5::ByteSource {
 public:
  explicit ViewSource(const std::string* bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_->size(); }
  vh5::Result<size_t> Read(uint64_t offset, size_t len, char* out) const override {
    if (offset >= bytes_->size()) return size_t{0};
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, bytes_->size() - offset));
    std::memcpy(out, bytes_->data() + offset, n);
    return n;
  }

 private:
  const std::string* bytes_;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "bench_gen: %s\n", what.c_str());
  return 1;
}

int WriteRaw(const vh5::ByteSource& src, const std::string& out) {
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Fail(out + ": " + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0; off < src.size();) {
    vh5::Result<size_t> n = src.Read(off, buf.size(), buf.data());
    if (!n.ok()) return Fail(n.status().ToString());
    if (::write(fd, buf.data(), *n) != static_cast<ssize_t>(*n)) {
      ::close(fd);
      return Fail(out + ": short write");
    }
    off += *n;
  }
  return ::close(fd) == 0 ? 0 : Fail(out + ": close failed");
}

int WriteOneVersion(const std::string& file, const vh5::NewDataset& d, const std::string& raw_out) {
  if (!raw_out.empty()) {
    if (int rc = WriteRaw(*d.source, raw_out)) return rc;
  }
  vh5::NewVersion v;
  v.name = "v1";
  v.datasets.push_back(d);
  vh5::Status s = vh5::CreateVersionedFile(file);
  if (s.ok()) s = vh5::CommitVersion(file, v);
  return s.ok() ? 0 : Fail(s.ToString());
}

int Seq(int argc, char** argv) {
  if (argc < 5)
    return Fail(
        "usage: bench_gen seq FILE MIB CHUNK_ELEMENTS [RAW_OUT|-] [VERSIONS] [COMPRESSION]");
  std::string file = argv[2];
  uint64_t n = std::strtoull(argv[3], nullptr, 10) * (1 << 20) / 8;
  uint64_t chunk = std::strtoull(argv[4], nullptr, 10);
  std::string raw = argc > 5 && std::strcmp(argv[5], "-") != 0 ? argv[5] : "";
  uint64_t versions = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 1;
  auto base = std::make_shared<RandomSource>(1, n, 8);
  vh5::NewDataset d;
  d.path = "big";
  d.dtype = "<f8";
  d.shape = {n};
  d.chunks = {chunk};
  d.source = base;
  if (argc > 7) d.compression = argv[7];
  if (int rc = WriteOneVersion(file, d, raw)) return rc;
  if (versions <= 1) return 0;

  auto patched = std::make_shared<PatchedSource>(base);
  uint64_t nchunks = (n + chunk - 1) / chunk;
  for (uint64_t k = 2; k <= versions; ++k) {
    uint64_t offset = ((k * 7919) % nchunks) * chunk * 8;  // one element of one chunk
    patched->Patch(offset, -static_cast<double>(k));
    vh5::NewVersion v;
    v.name = "v" + std::to_string(k);
    d.source = patched;
    v.datasets = {d};
    // As staging plans it: only the cell of the changed element is read.
    vh5::VersionPlan plan = vh5::PlanAsGiven(v);
    plan.datasets[0].keep = vh5::DatasetPlan::Keep::kCleanCells;
    plan.datasets[0].dirty = {{offset, offset + 8}};
    vh5::Status s = vh5::CommitVersion(file, plan);
    if (!s.ok()) return Fail(v.name + ": " + s.ToString());
  }
  return 0;
}

int Raw(int argc, char** argv) {
  if (argc != 5) return Fail("usage: bench_gen raw OUT MIB SEED");
  uint64_t n = std::strtoull(argv[3], nullptr, 10) * (1 << 20) / 8;
  return WriteRaw(RandomSource(std::strtoull(argv[4], nullptr, 10), n, 8), argv[2]);
}

int Grid(int argc, char** argv) {
  if (argc < 7) return Fail("usage: bench_gen grid FILE ROWS COLS CHUNK_ROWS CHUNK_COLS [RAW_OUT]");
  uint64_t rows = std::strtoull(argv[3], nullptr, 10), cols = std::strtoull(argv[4], nullptr, 10);
  vh5::NewDataset d;
  d.path = "grid";
  d.dtype = "<f4";
  d.shape = {rows, cols};
  d.chunks = {std::strtoull(argv[5], nullptr, 10), std::strtoull(argv[6], nullptr, 10)};
  d.source = std::make_shared<RandomSource>(2, rows * cols, 4);
  return WriteOneVersion(argv[2], d, argc > 7 ? argv[7] : "");
}

// The versions file's tree: data/series (16 chunks of 512 <f8, one changed
// per version), data/static_a and static/b (never changed), meta (a group
// whose attribute changes every version).
constexpr uint64_t kSeriesChunk = 512, kSeriesChunks = 16;

std::string VersionName(uint64_t i) {
  char name[32];
  std::snprintf(name, sizeof name, "v%05" PRIu64, i);
  return name;
}

int Versions(int argc, char** argv) {
  if (argc != 4) return Fail("usage: bench_gen versions FILE COUNT");
  std::string file = argv[2];
  uint64_t count = std::strtoull(argv[3], nullptr, 10);
  vh5::Status s = vh5::CreateVersionedFile(file);
  if (!s.ok()) return Fail(s.ToString());

  uint64_t n = kSeriesChunk * kSeriesChunks;
  std::string series(n * 8, '\0');
  if (auto r = RandomSource(3, n, 8).Read(0, series.size(), series.data()); !r.ok())
    return Fail(r.status().ToString());
  auto series_source = std::make_shared<ViewSource>(&series);

  // Version i changes one element of chunk i % kSeriesChunks.
  auto offset_of = [](uint64_t i) {
    return (i % kSeriesChunks) * kSeriesChunk * 8 + (i / kSeriesChunks % kSeriesChunk) * 8;
  };
  auto start = std::chrono::steady_clock::now(), lap = start;
  for (uint64_t i = 0; i < count; ++i) {
    vh5::NewVersion v;
    v.name = VersionName(i);
    v.groups.push_back({"meta", {{"revision", std::to_string(i), "<i8"}}});
    vh5::NewDataset d;
    d.path = "data/series";
    d.dtype = "<f8";
    d.shape = {n};
    d.chunks = {kSeriesChunk};
    d.source = series_source;
    vh5::NewDataset a, b;
    a.path = "data/static_a";
    b.path = "static/b";
    if (i == 0) {
      a.dtype = b.dtype = "<i8";
      a.shape = {1000};
      b.shape = {5000};
      a.chunks = b.chunks = {4096};
      a.data.assign(8000, '\x01');
      b.data.assign(40000, '\x02');
      a.attrs = {{"units", "m", ""}};
    } else {
      // One element of one chunk changes.
      uint64_t offset = offset_of(i);
      double value = static_cast<double>(i);
      std::memcpy(series.data() + offset, &value, 8);
      a.attrs = {{"units", "m", ""}};
    }
    v.datasets.push_back(std::move(d));
    v.datasets.push_back(std::move(a));
    v.datasets.push_back(std::move(b));
    vh5::VersionPlan plan = vh5::PlanAsGiven(v);
    if (i > 0) {
      // As staging plans it: the series keeps its clean cells, the others everything.
      plan.datasets[0].keep = vh5::DatasetPlan::Keep::kCleanCells;
      plan.datasets[0].dirty = {{offset_of(i), offset_of(i) + 8}};
      plan.datasets[1].keep = plan.datasets[2].keep = vh5::DatasetPlan::Keep::kAll;
    }
    s = vh5::CommitVersion(file, plan);
    if (!s.ok()) return Fail(v.name + ": " + s.ToString());
    if ((i + 1) % 1000 == 0 || i + 1 == count) {
      auto now = std::chrono::steady_clock::now();
      std::fprintf(stderr, "bench_gen: %" PRIu64 " versions, last %" PRIu64 " at %.2f ms each\n",
                   i + 1, (i % 1000) + 1,
                   std::chrono::duration<double, std::milli>(now - lap).count() /
                       static_cast<double>((i % 1000) + 1));
      lap = now;
    }
  }
  return 0;
}

int Times(int argc, char** argv) {
  if (argc != 4) return Fail("usage: bench_gen times FILE COUNT");
  std::string file = argv[2];
  uint64_t count = std::strtoull(argv[3], nullptr, 10);
  vh5::Status s = vh5::CreateVersionedFile(file);
  if (!s.ok()) return Fail(s.ToString());
  constexpr int kDatasets = 100;
  constexpr uint64_t kElements = 512;
  std::vector<std::string> contents(kDatasets);
  for (int k = 0; k < kDatasets; ++k) {
    contents[k].resize(kElements * 8);
    if (auto r = RandomSource(10 + k, kElements, 8).Read(0, contents[k].size(), contents[k].data());
        !r.ok())
      return Fail(r.status().ToString());
  }
  for (uint64_t i = 0; i < count; ++i) {
    vh5::NewVersion v;
    v.name = VersionName(i);
    v.groups.push_back({"meta", {{"revision", std::to_string(i), "<i8"}}});
    if (i == 2) contents[0][0] ^= 1;
    for (int k = 0; k < kDatasets; ++k) {
      vh5::NewDataset d;
      char name[8];
      std::snprintf(name, sizeof name, "d%03d", k);
      d.path = name;
      d.dtype = "<f8";
      d.shape = {kElements};
      d.chunks = {kElements};
      d.data = contents[k];
      v.datasets.push_back(std::move(d));
    }
    vh5::VersionPlan plan = vh5::PlanAsGiven(v);
    if (i > 0) {
      for (int k = 0; k < kDatasets; ++k) {
        if (i == 2 && k == 0) {
          plan.datasets[k].keep = vh5::DatasetPlan::Keep::kCleanCells;
          plan.datasets[k].dirty = {{0, 8}};
        } else {
          plan.datasets[k].keep = vh5::DatasetPlan::Keep::kAll;
        }
      }
    }
    s = vh5::CommitVersion(file, plan);
    if (!s.ok()) return Fail(v.name + ": " + s.ToString());
  }
  return 0;
}

}  // namespace

int Wide(int argc, char** argv) {
  if (argc != 5) return Fail("usage: bench_gen wide FILE COUNT ELEMENTS");
  uint64_t count = std::strtoull(argv[3], nullptr, 10), n = std::strtoull(argv[4], nullptr, 10);
  std::string all(count * n * 8, '\0');
  if (auto r = RandomSource(4, count * n, 8).Read(0, all.size(), all.data()); !r.ok())
    return Fail(r.status().ToString());
  vh5::NewVersion v;
  v.name = "v1";
  for (uint64_t i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "d%05" PRIu64, i);
    vh5::NewDataset d;
    d.path = name;
    d.dtype = "<f8";
    d.shape = {n};
    d.chunks = {4096};
    d.data = all.substr(i * n * 8, n * 8);
    v.datasets.push_back(std::move(d));
  }
  vh5::Status s = vh5::CreateVersionedFile(argv[2]);
  if (s.ok()) s = vh5::CommitVersion(argv[2], v);
  return s.ok() ? 0 : Fail(s.ToString());
}

int WideVersions(int argc, char** argv) {
  if (argc != 5) return Fail("usage: bench_gen widev FILE DATASETS VERSIONS");
  std::string file = argv[2];
  uint64_t count = std::strtoull(argv[3], nullptr, 10);
  uint64_t versions = std::strtoull(argv[4], nullptr, 10);
  constexpr uint64_t kElements = 100;
  vh5::Status s = vh5::CreateVersionedFile(file);
  if (!s.ok()) return Fail(s.ToString());
  auto name_of = [](const char* prefix, uint64_t i, int width) {
    char name[32];
    std::snprintf(name, sizeof name, "%s%0*" PRIu64, prefix, width, i);
    return std::string(name);
  };
  std::vector<std::string> data(count, std::string(kElements * 8, '\0'));
  for (uint64_t d = 0; d < count; ++d)
    if (auto r = RandomSource(4 + d, kElements, 8).Read(0, data[d].size(), data[d].data()); !r.ok())
      return Fail(r.status().ToString());
  for (uint64_t k = 1; k <= versions; ++k) {
    vh5::NewVersion v;
    v.name = name_of("w", k, 3);
    uint64_t changed = (k * 7919) % count, offset = (k % kElements) * 8;
    if (k > 1) {
      double value = -static_cast<double>(k);
      std::memcpy(data[changed].data() + offset, &value, 8);
    }
    for (uint64_t d = 0; d < count; ++d) {
      vh5::NewDataset ds;
      ds.path = name_of("d", d, 5);
      if (k == 1 || d == changed) {
        ds.dtype = "<f8";
        ds.shape = {kElements};
        ds.chunks = {kElements};
        ds.data = data[d];
      }
      v.datasets.push_back(std::move(ds));
    }
    vh5::VersionPlan plan = vh5::PlanAsGiven(v);
    if (k > 1) {
      // As staging plans it: one dataset rewritten in its dirty range, the others kept.
      for (uint64_t d = 0; d < count; ++d) {
        vh5::DatasetPlan& p = plan.datasets[d];
        if (d != changed) {
          p.keep = vh5::DatasetPlan::Keep::kAll;
        } else {
          p.keep = vh5::DatasetPlan::Keep::kCleanCells;
          p.dirty = {{offset, offset + 8}};
        }
      }
    }
    s = vh5::CommitVersion(file, plan);
    if (!s.ok()) return Fail(v.name + ": " + s.ToString());
    std::fprintf(stderr, "bench_gen: %s\n", v.name.c_str());
  }
  return 0;
}

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "seq") return Seq(argc, argv);
  if (cmd == "raw") return Raw(argc, argv);
  if (cmd == "grid") return Grid(argc, argv);
  if (cmd == "versions") return Versions(argc, argv);
  if (cmd == "wide") return Wide(argc, argv);
  if (cmd == "times") return Times(argc, argv);
  if (cmd == "widev") return WideVersions(argc, argv);
  return Fail(
      "usage: bench_gen seq|raw|grid|versions|wide|times|widev ... (see bench/bench_gen.cc)");
}
