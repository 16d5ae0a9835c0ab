// init, demo, set-current, delete, rename and repack: the subcommands that write.
#include <cstdio>

#include "cli.h"
#include "commands.h"
#include "demo_file.h"
#include "progress_line.h"
#include "vh5/current_version.h"
#include "vh5/delete_versions.h"
#include "vh5/rename_version.h"
#include "vh5/repack.h"
#include "vh5/staging.h"
#include "vh5/writer.h"

namespace vh5tool {
namespace {

int Report(const char* command, const std::string& text) {
  if (!WriteAll(stdout, text)) return Fail(command, "cannot write to standard output");
  return 0;
}

std::string Bytes(uint64_t n) { return std::to_string(n) + " bytes"; }

// A line about changes staged through vh5fs on a base that `deleted` names:
// they are not lost, but the next mount cannot replay them.
std::string StagedOnDeleted(const std::string& path, const std::vector<std::string>& deleted) {
  vh5::Result<std::optional<std::string>> base = vh5::Staging::PersistedBase(path);
  if (!base.ok() || !*base) return "";
  for (const std::string& name : deleted)
    if (name == **base)
      return path + ": the changes staged in " + vh5::Staging::StateDir(path) + " are based on " +
             name + "; the next mount keeps them aside, unreplayed (vh5fs(1), DURABLE STAGING)\n";
  return "";
}

}  // namespace

int RunInit(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {});
  if (!args.ok()) return Fail("init", args.status());
  if (args->positional.size() != 1) return Fail("init", "usage: vh5 init FILE");
  vh5::Status s = vh5::CreateVersionedFile(args->positional[0]);
  return s.ok() ? 0 : Fail("init", s);
}

int RunDemo(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {});
  if (!args.ok()) return Fail("demo", args.status());
  if (args->positional.size() != 1) return Fail("demo", "usage: vh5 demo FILE");
  vh5::Status s = WriteDemoFile(args->positional[0]);
  return s.ok() ? 0 : Fail("demo", s);
}

int RunSetCurrent(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {kWaitOption});
  if (!args.ok()) return Fail("set-current", args.status());
  if (args->positional.size() != 2)
    return Fail("set-current", "usage: vh5 set-current FILE VERSION");
  const std::string &path = args->positional[0], &name = args->positional[1];
  vh5::Status s = vh5::SetCurrentVersion(path, name, args->wait);
  if (!s.ok()) return Fail("set-current", s);
  return Report("set-current", path + ": current version " + name + "\n");
}

int RunDelete(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {"--repack", kWaitOption});
  if (!args.ok()) return Fail("delete", args.status());
  const std::vector<std::string>& pos = args->positional;
  if (pos.size() < 2) return Fail("delete", "usage: vh5 delete FILE VERSION... [--repack]");
  const std::string& path = pos[0];
  std::vector<std::string> names(pos.begin() + 1, pos.end());
  ProgressLine progress("delete");
  vh5::Result<vh5::DeleteReport> deleted =
      vh5::DeleteVersions(path, names, progress.callback(), args->wait);
  progress.Clear();
  if (!deleted.ok()) return Fail("delete", deleted.status());
  const vh5::DeleteReport& r = *deleted;
  std::string list;
  for (size_t i = 0; i < r.deleted.size(); ++i) list += (i ? ", " : "") + r.deleted[i];
  std::string out = path + ": deleted " + list + "; current version " + r.current_version + "\n";
  uint64_t freed = r.stored_bytes_before > r.stored_bytes_after
                       ? r.stored_bytes_before - r.stored_bytes_after
                       : 0;
  out += path + ": " + std::to_string(r.chunks_before) + " -> " + std::to_string(r.chunks_after) +
         " chunks; " + Bytes(freed) + " reclaimed (data stored: " + Bytes(r.stored_bytes_before) +
         " -> " + Bytes(r.stored_bytes_after) + ")\n";
  out += StagedOnDeleted(path, r.deleted);
  if (!args->has("--repack")) {
    out += path + ": file " + Bytes(r.file_bytes_before) + " -> " + Bytes(r.file_bytes_after) +
           "; vh5 repack returns the reclaimed space to the filesystem\n";
    return Report("delete", out);
  }
  vh5::Result<vh5::RepackReport> repacked = [&] {
    ProgressLine repack_progress("delete --repack");
    return vh5::Repack(path, repack_progress.callback(), args->wait);
  }();
  if (!repacked.ok()) {
    Report("delete", out);
    return Fail("delete", repacked.status().WithContext("the versions are deleted, but repack"));
  }
  out += path + ": file " + Bytes(r.file_bytes_before) + " -> " +
         Bytes(repacked->file_bytes_after) + " after repacking\n";
  return Report("delete", out);
}

int RunRename(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {kWaitOption});
  if (!args.ok()) return Fail("rename", args.status());
  if (args->positional.size() != 3) return Fail("rename", "usage: vh5 rename FILE OLD NEW");
  const std::string &path = args->positional[0], &from = args->positional[1],
                    &to = args->positional[2];
  vh5::Status s = vh5::RenameVersion(path, from, to, args->wait);
  if (!s.ok()) return Fail("rename", s);
  return Report("rename", path + ": version " + from + " renamed " + to + "\n");
}

int RunRepack(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {kWaitOption});
  if (!args.ok()) return Fail("repack", args.status());
  if (args->positional.size() != 1) return Fail("repack", "usage: vh5 repack FILE");
  const std::string& path = args->positional[0];
  vh5::Result<vh5::RepackReport> r = [&] {
    ProgressLine progress("repack");
    return vh5::Repack(path, progress.callback(), args->wait);
  }();
  if (!r.ok()) return Fail("repack", r.status());
  int64_t returned =
      static_cast<int64_t>(r->file_bytes_before) - static_cast<int64_t>(r->file_bytes_after);
  return Report("repack", path + ": file " + Bytes(r->file_bytes_before) + " -> " +
                              Bytes(r->file_bytes_after) + " (" + std::to_string(returned) +
                              " bytes returned to the filesystem)\n");
}

}  // namespace vh5tool
