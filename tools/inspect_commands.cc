// log, ls, cat, diff and verify: the subcommands that only read.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "cli.h"
#include "commands.h"
#include "progress_line.h"
#include "vh5/diff.h"
#include "vh5/history.h"
#include "vh5/shape.h"
#include "vh5/verify.h"

namespace vh5tool {
namespace {

// Versions newest first along the current version's prev_version chain,
// then each other branch from its newest tip back to where it forks.
struct LogEntry {
  vh5::VersionInfo info;
  size_t branch;
};

std::vector<LogEntry> LogOrder(const vh5::VersionedFile& file) {
  std::map<std::string, vh5::VersionInfo> left;
  for (vh5::VersionInfo& v : file.ListVersions()) left.emplace(v.name, std::move(v));
  std::vector<LogEntry> out;
  size_t branch = 0;
  auto follow = [&](std::string name) {
    bool any = false;
    while (true) {
      auto it = left.find(name);
      if (it == left.end()) break;
      name = it->second.prev_version;
      out.push_back({std::move(it->second), branch});
      left.erase(it);
      any = true;
    }
    if (any) ++branch;
  };
  if (std::optional<std::string> current = file.CurrentVersion()) follow(*current);
  while (!left.empty()) {
    std::set<std::string> parents;
    for (const auto& [name, info] : left) parents.insert(info.prev_version);
    const vh5::VersionInfo* tip = nullptr;
    for (const auto& [name, info] : left) {
      bool is_tip = !parents.count(name);
      bool newer = !tip || info.timestamp_ns > tip->timestamp_ns ||
                   (info.timestamp_ns == tip->timestamp_ns && name > tip->name);
      if (is_tip && newer) tip = &info;
    }
    // Only a prev_version loop leaves no tip: start anywhere in it.
    follow(tip ? tip->name : left.begin()->first);
  }
  return out;
}

// Columns a terminal gives `text`: one per UTF-8 code point.
size_t Columns(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

int RunLog(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {"--json", "--prev", kWaitOption});
  if (!args.ok()) return Fail("log", args.status());
  if (args->positional.size() != 1) return Fail("log", "usage: vh5 log FILE [--json] [--prev]");
  auto file = OpenForReading(args->positional[0], args->wait);
  if (!file.ok()) return Fail("log", file.status());
  std::vector<LogEntry> entries = LogOrder(**file);
  std::optional<std::string> current = (*file)->CurrentVersion();
  // --prev: each version's N in the mount's prev/N (file[-N]), on current's chain only.
  bool show_prev = args->has("--prev");
  std::map<std::string, size_t> prev_index;
  if (show_prev && current) {
    std::vector<std::string> chain = vh5::PrevChain(**file, *current);
    for (size_t i = 0; i < chain.size(); ++i) prev_index.emplace(chain[i], i);
  }
  auto prev_of = [&](const std::string& name) -> std::optional<size_t> {
    auto it = prev_index.find(name);
    if (it == prev_index.end()) return std::nullopt;
    return it->second;
  };
  size_t prev_width = 0;
  for (const auto& [name, n] : prev_index)
    prev_width = std::max(prev_width, std::string("prev/" + std::to_string(n)).size());
  std::string out;
  if (args->has("--json")) {
    out = "{\"file\": " + JsonString((*file)->path()) +
          ", \"current_version\": " + (current ? JsonString(*current) : "null") +
          ", \"data_version\": " + std::to_string((*file)->data_version()) + ", \"versions\": [";
    for (size_t i = 0; i < entries.size(); ++i) {
      const vh5::VersionInfo& v = entries[i].info;
      out += std::string(i ? ", " : "") + "{\"name\": " + JsonString(v.name) +
             ", \"timestamp\": " + JsonString(v.timestamp) +
             ", \"prev_version\": " + JsonString(v.prev_version) +
             ", \"current\": " + (current == v.name ? "true" : "false") +
             ", \"branch\": " + std::to_string(entries[i].branch);
      if (show_prev) {
        std::optional<size_t> n = prev_of(v.name);
        out += ", \"prev\": " + (n ? std::to_string(*n) : std::string("null"));
      }
      out += "}";
    }
    out += "]}\n";
  } else {
    size_t width = 0;
    for (const LogEntry& e : entries) width = std::max(width, Columns(e.info.name));
    for (size_t i = 0; i < entries.size(); ++i) {
      const vh5::VersionInfo& v = entries[i].info;
      if (i && entries[i].branch != entries[i - 1].branch) out += "\n";
      if (show_prev) {
        std::optional<size_t> n = prev_of(v.name);
        std::string col = n ? "prev/" + std::to_string(*n) : "";
        out += col + std::string(prev_width - col.size() + 2, ' ');
      }
      out += (current == v.name ? "* " : "  ") + v.name +
             std::string(width - Columns(v.name), ' ') + "  " + v.timestamp + "  prev " +
             v.prev_version + "\n";
    }
  }
  if (!WriteAll(stdout, out)) return Fail("log", "cannot write to standard output");
  return 0;
}

namespace {

struct LsRow {
  std::string dtype, shape, chunks, size, name;
};

vh5::Result<LsRow> Describe(const vh5::Version& version, const std::string& path,
                            const std::string& shown, vh5::NodeKind kind) {
  if (kind == vh5::NodeKind::kGroup) return LsRow{"group", "-", "-", "-", shown + "/"};
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const vh5::Dataset> ds, version.OpenDataset(path));
  const vh5::DatasetInfo& info = ds->info();
  return LsRow{info.dtype.numpy, vh5::DimsText(info.shape), vh5::DimsText(info.chunks),
               std::to_string(ds->size()), shown};
}

vh5::Status Collect(const vh5::Version& version, const std::string& group,
                    const std::string& shown_prefix, bool recursive, std::vector<LsRow>* rows) {
  VH5_ASSIGN_OR_RETURN(std::vector<vh5::DirEntry> entries, version.List(group));
  for (const vh5::DirEntry& e : entries) {
    std::string path = group.empty() ? e.name : group + "/" + e.name;
    std::string shown = shown_prefix + e.name;
    VH5_ASSIGN_OR_RETURN(LsRow row, Describe(version, path, shown, e.kind));
    rows->push_back(std::move(row));
    if (recursive && e.kind == vh5::NodeKind::kGroup)
      VH5_RETURN_IF_ERROR(Collect(version, path, shown + "/", recursive, rows));
  }
  return vh5::Status::OK();
}

}  // namespace

int RunLs(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {"-l", "-r", kWaitOption});
  if (!args.ok()) return Fail("ls", args.status());
  const std::vector<std::string>& pos = args->positional;
  if (pos.empty() || pos.size() > 2)
    return Fail("ls", "usage: vh5 ls FILE [VERSION[:PATH]] [-l] [-r]");
  auto file = OpenForReading(pos[0], args->wait);
  if (!file.ok()) return Fail("ls", file.status());
  vh5::Result<VersionPath> where =
      ResolveVersionPath(**file, pos.size() == 2 ? pos[1] : ":", false);
  if (!where.ok()) return Fail("ls", where.status());
  auto version = (*file)->GetVersion(where->version);
  if (!version.ok()) return Fail("ls", version.status());
  vh5::Result<vh5::NodeKind> kind = (*version)->Kind(where->path);
  if (!kind.ok()) return Fail("ls", kind.status());
  std::vector<LsRow> rows;
  if (*kind == vh5::NodeKind::kDataset) {
    std::string leaf = where->path.substr(where->path.rfind('/') + 1);
    vh5::Result<LsRow> row = Describe(**version, where->path, leaf, *kind);
    if (!row.ok()) return Fail("ls", row.status());
    rows.push_back(std::move(*row));
  } else {
    vh5::Status s = Collect(**version, where->path, "", args->has("-r"), &rows);
    if (!s.ok()) return Fail("ls", s);
  }
  std::string out;
  if (args->has("-l")) {
    size_t w[4] = {0, 0, 0, 0};
    for (const LsRow& r : rows) {
      w[0] = std::max(w[0], r.dtype.size());
      w[1] = std::max(w[1], r.shape.size());
      w[2] = std::max(w[2], r.chunks.size());
      w[3] = std::max(w[3], r.size.size());
    }
    auto pad = [](const std::string& s, size_t width) {
      return s + std::string(width - s.size(), ' ');
    };
    for (const LsRow& r : rows)
      out += pad(r.dtype, w[0]) + "  " + pad(r.shape, w[1]) + "  " + pad(r.chunks, w[2]) + "  " +
             std::string(w[3] - r.size.size(), ' ') + r.size + "  " + r.name + "\n";
  } else {
    for (const LsRow& r : rows) out += r.name + "\n";
  }
  if (!WriteAll(stdout, out)) return Fail("ls", "cannot write to standard output");
  return 0;
}

int RunCat(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {kWaitOption});
  if (!args.ok()) return Fail("cat", args.status());
  if (args->positional.size() != 2) return Fail("cat", "usage: vh5 cat FILE VERSION:PATH");
  auto file = OpenForReading(args->positional[0], args->wait);
  if (!file.ok()) return Fail("cat", file.status());
  vh5::Result<VersionPath> where = ResolveVersionPath(**file, args->positional[1], true);
  if (!where.ok()) return Fail("cat", where.status());
  auto version = (*file)->GetVersion(where->version);
  if (!version.ok()) return Fail("cat", version.status());
  auto dataset = (*version)->OpenDataset(where->path);
  if (!dataset.ok()) return Fail("cat", dataset.status());
  constexpr size_t kPiece = 4 << 20;
  std::vector<char> buf(kPiece);
  for (uint64_t offset = 0; offset < (*dataset)->size();) {
    vh5::Result<size_t> n = (*dataset)->Read(offset, buf.size(), buf.data());
    if (!n.ok()) return Fail("cat", n.status());
    if (*n == 0) break;
    if (!WriteAll(stdout, std::string_view(buf.data(), *n)))
      return Fail("cat", "cannot write to standard output");
    offset += *n;
  }
  if (std::fflush(stdout) != 0) return Fail("cat", "cannot write to standard output");
  return 0;
}

namespace {

const char* ChangeName(vh5::NodeChange::Change c) {
  switch (c) {
    case vh5::NodeChange::Change::kAdded:
      return "added";
    case vh5::NodeChange::Change::kRemoved:
      return "removed";
    default:
      return "changed";
  }
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + JsonString(items[i]);
  return out + "]";
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

std::string DiffJson(const vh5::VersionDiff& diff) {
  std::string out = "{\"from\": " + JsonString(diff.from) + ", \"to\": " + JsonString(diff.to) +
                    ", \"changes\": [";
  for (size_t i = 0; i < diff.changes.size(); ++i) {
    const vh5::NodeChange& c = diff.changes[i];
    bool dataset = c.kind == vh5::NodeKind::kDataset;
    out += std::string(i ? ", " : "") + "{\"change\": \"" + ChangeName(c.change) +
           "\", \"kind\": \"" + (dataset ? "dataset" : "group") +
           "\", \"path\": " + JsonString(c.path);
    if (c.change == vh5::NodeChange::Change::kChanged) {
      auto field = [&](const char* name, const std::optional<vh5::NodeChange::Field>& f) {
        if (f)
          out += std::string(", \"") + name + "\": {\"from\": " + JsonString(f->from) +
                 ", \"to\": " + JsonString(f->to) + "}";
      };
      field("dtype", c.dtype);
      field("shape", c.shape);
      field("chunks", c.chunks);
      field("fillvalue", c.fillvalue);
      field("compression", c.compression);
      if (dataset)
        out += ", \"chunks_differ\": " + std::to_string(c.chunks_differ) +
               ", \"chunks_total\": " + std::to_string(c.chunks_total);
      out += ", \"attributes\": {\"added\": " + JsonList(c.attributes.added) +
             ", \"removed\": " + JsonList(c.attributes.removed) +
             ", \"changed\": " + JsonList(c.attributes.changed) + "}";
    }
    out += "}";
  }
  return out + "]}\n";
}

std::string DiffText(const vh5::VersionDiff& diff) {
  std::string out;
  for (const vh5::NodeChange& c : diff.changes) {
    bool dataset = c.kind == vh5::NodeKind::kDataset;
    std::string line = std::string(1, "ADM"[static_cast<int>(c.change)]) +
                       (dataset ? " dataset " : " group   ") + (c.path.empty() ? "/" : c.path);
    std::vector<std::string> parts;
    auto field = [&](const char* name, const std::optional<vh5::NodeChange::Field>& f) {
      if (f) parts.push_back(std::string(name) + " " + f->from + " -> " + f->to);
    };
    field("dtype", c.dtype);
    field("shape", c.shape);
    field("chunks", c.chunks);
    field("fillvalue", c.fillvalue);
    field("compression", c.compression);
    if (c.chunks_differ)
      parts.push_back(std::to_string(c.chunks_differ) + " of " + std::to_string(c.chunks_total) +
                      " chunks differ");
    if (!c.attributes.added.empty())
      parts.push_back("attributes added: " + Joined(c.attributes.added));
    if (!c.attributes.removed.empty())
      parts.push_back("attributes removed: " + Joined(c.attributes.removed));
    if (!c.attributes.changed.empty())
      parts.push_back("attributes changed: " + Joined(c.attributes.changed));
    for (size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : ": ") + parts[i];
    out += line + "\n";
  }
  return out;
}

}  // namespace

int RunDiff(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {"--json", kWaitOption});
  if (!args.ok()) return Fail("diff", args.status());
  if (args->positional.size() != 3) return Fail("diff", "usage: vh5 diff FILE A B [--json]");
  const std::string& path = args->positional[0];
  vh5::Result<vh5::VersionDiff> diff =
      vh5::DiffVersions(path, args->positional[1], args->positional[2], args->wait);
  if (!diff.ok()) return Fail("diff", diff.status());
  std::string out = args->has("--json") ? DiffJson(*diff) : DiffText(*diff);
  if (!WriteAll(stdout, out)) return Fail("diff", "cannot write to standard output");
  return 0;
}

int RunVerify(const Argv& argv) {
  vh5::Result<Args> args = ParseArgs(argv, {kWaitOption});
  if (!args.ok()) return Fail("verify", args.status());
  if (args->positional.size() != 1) return Fail("verify", "usage: vh5 verify FILE");
  const std::string& path = args->positional[0];
  vh5::Result<vh5::VerifyReport> report = [&] {
    ProgressLine progress("verify");
    return vh5::VerifyFile(path, progress.callback(), args->wait);
  }();
  if (!report.ok()) return Fail("verify", report.status());
  std::string out;
  for (const std::string& problem : report->problems) out += path + ": " + problem + "\n";
  if (report->sound())
    out = path + ": ok: " + std::to_string(report->versions) + " versions, " +
          std::to_string(report->datasets) + " datasets, " + std::to_string(report->mappings) +
          " mappings, " + std::to_string(report->hash_rows) + " hash table rows checked\n";
  if (!WriteAll(stdout, out)) return Fail("verify", "cannot write to standard output");
  return report->sound() ? 0 : 1;
}

}  // namespace vh5tool
