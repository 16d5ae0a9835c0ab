// make_bench_file FILE MIB [CHUNK_ELEMENTS]: a versioned file with one
// version "v1" holding a 1-D <f8 dataset "big" of MIB mebibytes, written by
// vh5fs's own writer. Content is pseudo-random so no chunk repeats.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "vh5/writer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: make_bench_file FILE MIB [CHUNK_ELEMENTS]\n");
    return 1;
  }
  std::string path = argv[1];
  uint64_t mib = std::strtoull(argv[2], nullptr, 10);
  uint64_t chunk = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 65536;
  uint64_t n = mib * (1 << 20) / 8;
  vh5::NewDataset d;
  d.path = "big";
  d.dtype = "<f8";
  d.shape = {n};
  d.chunks = {chunk};
  d.data.resize(n * 8);
  std::mt19937_64 rng(42);
  for (uint64_t i = 0; i < n; ++i) {
    double v = static_cast<double>(rng() >> 11) / 9007199254740992.0;
    std::memcpy(d.data.data() + i * 8, &v, 8);
  }
  vh5::NewVersion v;
  v.name = "v1";
  v.datasets.push_back(std::move(d));
  vh5::Status s = vh5::CreateVersionedFile(path);
  if (s.ok()) s = vh5::CommitVersion(path, v);
  if (!s.ok()) {
    std::fprintf(stderr, "make_bench_file: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
