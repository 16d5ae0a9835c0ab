// Writes a seed corpus for read_fuzzer with the engine's own writer: small
// files (fast to fuzz) that between them hold every kind of dataset the
// read path knows. Usage: make_seeds DIR
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "vh5/writer.h"

namespace {

std::string Le(uint64_t v, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

vh5::NewDataset Fixed(const std::string& path, const std::string& dtype, size_t itemsize,
                      std::vector<uint64_t> shape, std::vector<uint64_t> chunks,
                      const std::string& compression = "none", std::string fill = "") {
  vh5::NewDataset d;
  d.path = path;
  d.dtype = dtype;
  d.shape = std::move(shape);
  d.chunks = std::move(chunks);
  d.compression = compression;
  d.fill_bytes = std::move(fill);
  uint64_t n = itemsize;
  for (uint64_t s : d.shape) n *= s;
  for (uint64_t i = 0; i < n; ++i) d.data += static_cast<char>((i * 7 / itemsize) % 251);
  return d;
}

vh5::NewDataset Strings(const std::string& path, std::vector<std::string> values, uint64_t chunk) {
  vh5::NewDataset d;
  d.path = path;
  d.dtype = "vlen-str";
  d.shape = {values.size()};
  d.chunks = {chunk};
  d.strings = std::move(values);
  return d;
}

vh5::NewVersion Version(const std::string& name, std::vector<vh5::NewDataset> datasets) {
  vh5::NewVersion v;
  v.name = name;
  v.datasets = std::move(datasets);
  return v;
}

bool Write(const std::string& path, const std::vector<vh5::NewVersion>& versions) {
  vh5::Status s = vh5::CreateVersionedFile(path);
  for (const vh5::NewVersion& v : versions)
    if (s.ok()) s = vh5::CommitVersion(path, v);
  if (!s.ok()) std::fprintf(stderr, "make_seeds: %s: %s\n", path.c_str(), s.ToString().c_str());
  return s.ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  bool ok = true;
  ok &= Write(dir + "/seed-empty.h5", {});
  ok &= Write(dir + "/seed-plain.h5",
              {Version("v1", {Fixed("a", "<f8", 8, {40}, {16}, "none", Le(0x3ff0000000000000, 8)),
                              Fixed("g/m", "<i4", 4, {9, 7}, {4, 3})})});
  ok &= Write(dir + "/seed-filters.h5",
              {Version("v1", {Fixed("gz", "<i8", 8, {60}, {16}, "gzip:4"),
                              Fixed("lzf", "<f4", 4, {60}, {16}, "lzf"),
                              Fixed("shuf", "<u2", 2, {60}, {16}, "gzip:1,shuffle"),
                              Fixed("f32", "<i2", 2, {60}, {16}, "fletcher32")})});
  ok &= Write(dir + "/seed-types.h5",
              {Version("v1", {Fixed("b", "|b1", 1, {30}, {8}), Fixed("s", "|S5", 5, {12}, {5}),
                              Fixed("c", "<c16", 16, {6}, {4}), Fixed("be", ">i4", 4, {10}, {4}),
                              Fixed("rec", "[('x', '<i4'), ('y', '<f8')]", 12, {5}, {2}),
                              Strings("names", {"a", "bb", "", "line\nbreak", "z"}, 2)})});
  vh5::NewVersion grouped = Version("v1", {Fixed("x/y/z/deep", "<f8", 8, {3, 2, 4}, {2, 2, 2})});
  grouped.groups = {{"x", {{"units", "m", ""}, {"scale", "2.5", "<f8"}}},
                    {"x/y", {{"list", "[1, 2, 3]", "(3,)<i8"}}}};
  vh5::NewVersion second = Version("v2", {Fixed("x/y/z/deep", "<f8", 8, {5, 2, 4}, {2, 2, 2}),
                                          Fixed("x/new", "|u1", 1, {0}, {4})});
  second.groups = grouped.groups;
  vh5::NewVersion third = Version("v3", {Fixed("x/y/z/deep", "<f8", 8, {5, 2, 4}, {2, 2, 2})});
  third.prev_version = "v1";
  third.make_current = false;
  ok &= Write(dir + "/seed-versions.h5", {grouped, second, third});
  return ok ? 0 : 1;
}
