// vh5: the offline tool for versioned HDF5 files.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"

namespace vh5tool {
namespace {

struct Subcommand {
  const char* name;
  const char* usage;
  const char* summary;
  const char* details;  // what --help adds: options and output
  int (*run)(const Argv&);
};

const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> table = {
      {"init", "vh5 init FILE", "create an empty versioned file", "", RunInit},
      {"log", "vh5 log FILE [--json] [--prev]", "list versions, newest first, current marked",
       "  The current version's prev_version chain first, then every other branch from\n"
       "  its newest version back to where it forks; a blank line between branches.\n"
       "  Each line: '*' on the current version, name, timestamp, prev NAME.\n"
       "  --json  one JSON object: file, current_version, data_version, versions\n"
       "          [{name, timestamp, prev_version, current, branch}] in the same order\n"
       "  --prev  also each version's N in the mount's prev/N (file[-N]): a first\n"
       "          column prev/N on the current version's chain (\"prev\": N or null in JSON)\n",
       RunLog},
      {"ls", "vh5 ls FILE [VERSION[:PATH]] [-l] [-r]", "list groups and datasets of a version",
       "  VERSION defaults to the current version, PATH to the root; ':PATH' reads the\n"
       "  current version. Groups end with '/'.\n"
       "  -l  long: dtype, shape, chunks, size in bytes (as the mount shows the file), name\n"
       "  -r  recursive: every group and dataset below PATH\n",
       RunLs},
      {"cat", "vh5 cat FILE VERSION:PATH", "write a dataset's bytes, as the mount shows them",
       "  The elements in C order in their stored layout, or one line per element for\n"
       "  variable-length strings: the content of the file vh5fs shows.\n",
       RunCat},
      {"diff", "vh5 diff FILE A B [--json]", "what changed from version A to version B",
       "  One line per group or dataset added (A), removed (D) or changed (M), with what\n"
       "  changed: dtype, shape, chunks, fillvalue, compression, attributes, and how many\n"
       "  chunks differ, from the chunk maps (no data is read).\n"
       "  --json  {from, to, changes: [{change, kind, path, ...}]}; see vh5(1)\n",
       RunDiff},
      {"set-current", "vh5 set-current FILE VERSION", "make VERSION the current version", "",
       RunSetCurrent},
      {"delete", "vh5 delete FILE VERSION... [--repack]",
       "delete versions as versioned-hdf5's delete_versions does",
       "  Chunks no remaining version uses are dropped; raw_data, hash tables and the\n"
       "  remaining versions' datasets are rewritten; a deleted prev_version or current\n"
       "  version moves to its nearest remaining ancestor. Prints the bytes reclaimed.\n"
       "  --repack  then rewrite the file (as vh5 repack) so the space returns to the\n"
       "            filesystem\n",
       RunDelete},
      {"rename", "vh5 rename FILE OLD NEW", "rename a version",
       "  The version's group, the prev_version of the versions made on it and\n"
       "  current_version, in one transaction. NEW follows the rules of a commit's name.\n",
       RunRename},
      {"repack", "vh5 repack FILE", "rewrite the file without the space freed inside it",
       "  Copies every object into a new file beside FILE and renames it over FILE.\n", RunRepack},
      {"verify", "vh5 verify FILE", "check every invariant of the format",
       "  One line per problem on standard output, exit status 1; a single 'ok' line and\n"
       "  exit status 0 when the file is sound.\n",
       RunVerify},
      {"demo", "vh5 demo FILE", "create a small demo versioned file with three versions", "",
       RunDemo},
  };
  return table;
}

// What every subcommand that opens an existing FILE takes.
constexpr char kWaitHelp[] =
    "  --wait SECONDS  how long to wait while another process (h5py, versioned-hdf5,\n"
    "                  a vh5fs commit) has FILE locked or open for writing; then the\n"
    "                  command fails, naming the holder (default 30)\n";

bool Waits(const Subcommand& s) {
  return std::strcmp(s.name, "init") != 0 && std::strcmp(s.name, "demo") != 0;
}

void Usage(FILE* out) {
  std::fprintf(out, "usage: vh5 SUBCOMMAND ARGS...\n\nsubcommands:\n");
  for (const Subcommand& s : Subcommands()) std::fprintf(out, "  %-40s %s\n", s.usage, s.summary);
  std::fprintf(out, "\nevery subcommand but init and demo takes:\n%s", kWaitHelp);
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
    Argv args(argv + 2, argv + argc);
    for (const std::string& a : args) {
      if (a == "--") break;
      if (a == "-h" || a == "--help") {
        std::printf("usage: %s\n  %s\n%s%s", s.usage, s.summary, s.details,
                    Waits(s) ? kWaitHelp : "");
        return 0;
      }
    }
    return s.run(args);
  }
  std::fprintf(stderr, "vh5: unknown subcommand %s (see vh5 --help)\n", name.c_str());
  return 1;
}

}  // namespace
}  // namespace vh5tool

int main(int argc, char** argv) { return vh5tool::Run(argc, argv); }
