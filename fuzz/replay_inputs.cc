// Replays files through read_everything (read_everything.h) without
// libFuzzer: what the fuzzer once found (fuzz/regressions/) stays fixed in
// every build ctest runs, the sanitizer build included.
//
// Usage: replay_inputs [--clean] PATH...   (files, or directories of files)
// Exits 0 when every file was read to the end; a broken promise aborts.
// --clean: every file must also open and read without a single error (the
// seeds make_seeds writes are sound files).
#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "read_everything.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  bool clean = false;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--clean") {
      clean = true;
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const fs::directory_entry& e : fs::directory_iterator(arg))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.')
          files.push_back(e.path());
    } else if (fs::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay_inputs: %s: no such file or directory\n", arg.c_str());
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: replay_inputs [--clean] PATH...\n");
    return 2;
  }
  std::sort(files.begin(), files.end());
  // Errors reach us as Status values, not as HDF5's printed stacks.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  size_t failed = 0;
  for (const fs::path& f : files) {
    // Named first, so that a crash shows which input it was.
    std::printf("%s: ", f.filename().c_str());
    std::fflush(stdout);
    vh5fuzz::Outcome out = vh5fuzz::ReadEverything(f.string());
    std::printf("%s, %zu versions, %zu datasets, %llu bytes read, %zu errors%s%s\n",
                out.opened ? "opened" : "refused", out.versions, out.datasets_opened,
                static_cast<unsigned long long>(out.bytes_read), out.errors,
                out.errors ? ", first: " : "", out.first_error.c_str());
    if (clean && (!out.opened || out.errors != 0)) ++failed;
  }
  std::printf("%zu passed, %zu failed\n", files.size() - failed, failed);
  return failed == 0 ? 0 : 1;
}
