// vh5: the offline tool for versioned HDF5 files.
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "demo_file.h"
#include "vh5/writer.h"

namespace vh5tool {
namespace {

struct Subcommand {
  const char* name;
  const char* usage;
  const char* summary;
  std::function<vh5::Status(const std::vector<std::string>&)> run;
  size_t args;
};

const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> table = {
      {"init", "vh5 init FILE", "create an empty versioned file",
       [](const std::vector<std::string>& a) { return vh5::CreateVersionedFile(a[0]); }, 1},
      {"demo", "vh5 demo FILE", "create a small demo versioned file with three versions",
       [](const std::vector<std::string>& a) { return WriteDemoFile(a[0]); }, 1},
  };
  return table;
}

void Usage(FILE* out) {
  std::fprintf(out, "usage: vh5 SUBCOMMAND ARGS...\n\nsubcommands:\n");
  for (const Subcommand& s : Subcommands()) std::fprintf(out, "  %-22s %s\n", s.usage, s.summary);
  std::fprintf(out, "\nvh5 SUBCOMMAND --help shows one subcommand; see vh5(1).\n");
}

int Run(int argc, char** argv) {
  if (argc < 2) {
    Usage(stderr);
    return 1;
  }
  std::string name = argv[1];
  if (name == "-h" || name == "--help") {
    Usage(stdout);
    return 0;
  }
  if (name == "-V" || name == "--version") {
    std::printf("vh5 %s\n", VH5_VERSION);
    return 0;
  }
  for (const Subcommand& s : Subcommands()) {
    if (name != s.name) continue;
    std::vector<std::string> args(argv + 2, argv + argc);
    if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
      std::printf("usage: %s\n  %s\n", s.usage, s.summary);
      return 0;
    }
    if (args.size() != s.args) {
      std::fprintf(stderr, "usage: %s\n", s.usage);
      return 1;
    }
    vh5::Status status = s.run(args);
    if (!status.ok()) {
      std::fprintf(stderr, "vh5 %s: %s\n", s.name, status.message().c_str());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "vh5: unknown subcommand %s (see vh5 --help)\n", name.c_str());
  return 1;
}

}  // namespace
}  // namespace vh5tool

int main(int argc, char** argv) { return vh5tool::Run(argc, argv); }
