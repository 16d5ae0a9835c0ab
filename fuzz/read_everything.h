// The engine's whole read path over one file, as a reader of a mount would
// drive it: open, every version, every group and attribute, every dataset
// opened and read in a few bounded pieces, and `vh5 verify`'s checks.
//
// Shared by the libFuzzer target (fuzz/read_fuzzer.cc) and the regression
// replay of what it found (replay_inputs.cc, run by ctest). Any outcome
// is fine as long as it is OK or a Status; what the engine promises beyond
// that (a read returns what it says, sizes agree) is checked here, and a
// broken promise aborts, so that the fuzzer reports it as a crash.
#pragma once

#include <cstdint>
#include <string>

namespace vh5fuzz {

// Bounds on the work done for one file, so that a run stays fast whatever
// the file claims; what the engine does inside one call is its own business.
struct Limits {
  size_t versions = 64;  // versions walked
  size_t nodes = 512;    // groups and datasets visited over all versions
  uint64_t bytes_per_read = 64 << 10;
  bool verify = true;  // also run VerifyFile
};

struct Outcome {
  bool opened = false;
  size_t versions = 0;
  size_t datasets_opened = 0;
  size_t errors = 0;  // Status errors met (each is a clean refusal)
  uint64_t bytes_read = 0;
  std::string first_error;  // its text, for a test to show
};

// Runs everything on the file at `path`; aborts (after printing why) only
// when the engine breaks a promise of its API.
Outcome ReadEverything(const std::string& path, const Limits& limits = {});

}  // namespace vh5fuzz
