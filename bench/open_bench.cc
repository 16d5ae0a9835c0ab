// open_bench FILE VERSION PATH [REPEATS]: how long opening one version's
// dataset takes (median of REPEATS, each on a freshly opened file), through
// the engine's fast header reader and through H5Dopen (the path every open
// took before the fast reader, and still the fallback).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "format/file_layout.h"
#include "hdf5/h5_handle.h"
#include "read/file_core.h"
#include "read/version_dataset.h"
#include "vh5/versioned_file.h"

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: open_bench FILE VERSION PATH [REPEATS]\n");
    return 1;
  }
  std::string file = argv[1], version = argv[2], path = argv[3];
  int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  std::string full = vh5::layout::VersionPath(version, path);
  std::vector<double> fast, hdf5;
  for (int i = 0; i < repeats; ++i) {
    auto f = vh5::VersionedFile::OpenReadOnly(file);
    if (!f.ok()) return std::fprintf(stderr, "%s\n", f.status().ToString().c_str()), 1;
    auto v = (*f)->GetVersion(version);
    if (!v.ok()) return std::fprintf(stderr, "%s\n", v.status().ToString().c_str()), 1;
    auto start = std::chrono::steady_clock::now();
    auto d = (*v)->OpenDataset(path);
    fast.push_back(Seconds(start));
    if (!d.ok()) return std::fprintf(stderr, "%s\n", d.status().ToString().c_str()), 1;
  }
  for (int i = 0; i < repeats; ++i) {
    vh5::FileCore core;
    core.file = vh5::h5::Handle(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    core.fd = std::make_shared<vh5::Fd>(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    auto start = std::chrono::steady_clock::now();
    auto d = vh5::LoadVersionDataset(core.file.get(), /*fd=*/-1, full,
                                     [&](const std::string& raw) { return core.Raw(raw); });
    hdf5.push_back(Seconds(start));
    if (!d.ok()) return std::fprintf(stderr, "%s\n", d.status().ToString().c_str()), 1;
  }
  std::printf("%s %s/%s: open %.4f s (fast header), %.4f s (H5Dopen), median of %d\n", file.c_str(),
              version.c_str(), path.c_str(), Median(fast), Median(hdf5), repeats);
  return 0;
}
