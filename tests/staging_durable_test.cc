// Durable staging in the engine: a staging tree with every kind of change,
// persisted, reopened over the same file and compared whole; torn, corrupt
// and committed states; discard, rebase, log rewrites, scratch page reuse;
// one owner of a state at a time.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "staging/record_log.h"
#include "staging/scratch_file.h"
#include "staging/staging_records.h"
#include "test_util.h"
#include "util/crash_point.h"
#include "vh5/staging.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

using namespace vh5test;
using Code = vh5::Status::Code;

namespace {

std::string Doubles(const std::vector<double>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
}

// Bytes no two 8-byte words share.
std::string Pattern(uint64_t seed, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((seed * 131 + i * 7 + i / 251) & 0xff);
  return out;
}

// A file with versions "v0" (values only) and "base": values (20000 <f8 in
// chunks of 1000), sub/grid (6x4 <i4) with sub's attribute, names (vlen),
// other, gone.
fs::path MakeBase(const TempDir& dir) {
  fs::path file = dir.path() / "base.h5";
  BOOST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  std::vector<double> values(20000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
  vh5::NewDataset d = MakeDataset("values", "<f8", {20000}, {1000});
  d.data = Doubles(values);
  d.attrs = {{"units", "m", ""}};
  vh5::NewVersion v0;
  v0.name = "v0";
  v0.datasets = {d};
  BOOST_REQUIRE(vh5::CommitVersion(file.string(), v0).ok());
  std::vector<int32_t> grid(24);
  for (size_t i = 0; i < grid.size(); ++i) grid[i] = static_cast<int32_t>(i);
  vh5::NewDataset g = MakeDataset("sub/grid", "<i4", {6, 4}, {3, 2});
  g.data = std::string(reinterpret_cast<const char*>(grid.data()), 96);
  vh5::NewDataset n = MakeDataset("names", "vlen-str", {3}, {2});
  n.strings = {"a", "b", "c"};
  vh5::NewDataset o = MakeDataset("other", "|u1", {100000}, {65536});
  o.data = Pattern(1, 100000);
  vh5::NewDataset gone = MakeDataset("gone", "|u1", {70000}, {65536});
  gone.data = Pattern(2, 70000);
  vh5::NewVersion v;
  v.name = "base";
  v.datasets = {d, g, n, o, gone};
  v.groups = {{"sub", {{"desc", "a group", ""}}}};
  BOOST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  return file;
}

std::unique_ptr<vh5::Staging> OpenStaging(const vh5::VersionedFile& f, std::string* note) {
  auto s = vh5::Staging::Open(f, note);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  return std::move(*s);
}

std::unique_ptr<vh5::Staging> OpenStaging(const vh5::VersionedFile& f) {
  std::string note;
  auto s = OpenStaging(f, &note);
  BOOST_TEST(note.empty(), note);
  return s;
}

// By name: the file lists attributes in name order, staging in the order set.
std::string Text(const vh5::Attributes& attrs) {
  std::map<std::string, std::string> sorted;
  for (const vh5::Attribute& a : attrs) sorted[a.name] = a.text + ":" + a.type;
  std::string out;
  for (const auto& [name, value] : sorted) out += name + "=" + value + ";";
  return out;
}

std::string Dims(const std::vector<uint64_t>& dims) {
  std::string out;
  for (uint64_t d : dims) out += std::to_string(d) + ",";
  return out;
}

// Everything staging shows, path by path: kinds, metadata, attributes, bytes
// (as their SHA-256), and the staging root's settings.
std::map<std::string, std::string> Dump(const vh5::Staging& s) {
  std::map<std::string, std::string> out;
  out["<base>"] = s.base_name();
  out["<settings>"] = s.commit_timestamp() + (s.make_current() ? " current" : " not current");
  out["<changed>"] = s.HasChanges() ? "yes" : "no";
  std::vector<std::string> pending = {""};
  while (!pending.empty()) {
    std::string path = pending.back();
    pending.pop_back();
    auto kind = s.Kind(path);
    BOOST_REQUIRE(kind.ok());
    if (*kind == vh5::NodeKind::kGroup) {
      out[path] = "group " + Text(*s.GetAttributes(path));
      auto entries = s.List(path);  // a named Result: *temporary would dangle in the loop
      BOOST_REQUIRE(entries.ok());
      for (const vh5::DirEntry& e : *entries)
        pending.push_back(path.empty() ? e.name : path + "/" + e.name);
      continue;
    }
    auto info = s.Info(path);
    BOOST_REQUIRE(info.ok());
    std::ostringstream d;
    d << "dataset " << info->dtype.numpy << " " << info->dtype.itemsize << " shape "
      << Dims(info->shape) << " chunks " << Dims(info->chunks) << " fill " << info->fill_text << "/"
      << Sha256Hex(info->fill_bytes) << " " << info->compression << " " << Text(info->attrs) << " "
      << Sha256Hex(ReadStaged(s, path));
    out[path] = d.str();
  }
  return out;
}

void CheckSame(const std::map<std::string, std::string>& want,
               const std::map<std::string, std::string>& got) {
  for (const auto& [path, what] : want) {
    auto it = got.find(path);
    BOOST_TEST((it != got.end()), "missing /" << path);
    if (it != got.end())
      BOOST_TEST(it->second == what, "/" << path << ": " << it->second << " != " << what);
  }
  for (const auto& [path, what] : got) BOOST_TEST(want.count(path) == 1u, "extra /" << path);
}

fs::path StateDir(const fs::path& file) { return vh5::Staging::StateDir(file.string()); }

std::vector<fs::path> SetAside(const fs::path& file) {
  std::vector<fs::path> out;
  std::string prefix = StateDir(file).filename().string() + ".broken-";
  for (const auto& e : fs::directory_iterator(file.parent_path()))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  return out;
}

// Every kind of change the tree takes; `s` over "base".
void ChangeEverything(vh5::Staging& s) {
  auto ok = [](const vh5::Status& st) { BOOST_REQUIRE_MESSAGE(st.ok(), st.ToString()); };
  ok(s.Mkdir("newg"));
  ok(s.Mkdir("newg/deep"));
  ok(s.Mkdir("tmp"));
  ok(s.Rmdir("tmp"));
  // A new dataset, its metadata from "xattrs", in cp -a's order.
  ok(s.CreateDataset("newg/d"));
  ok(s.Write("newg/d", 0, Pattern(3, 3 * 65536 + 400)).status());
  ok(s.Flush("newg/d"));
  ok(s.SetChunks("newg/d", {1000}));
  ok(s.SetCompression("newg/d", "gzip:4"));
  ok(s.SetDtype("newg/d", "<i4"));
  ok(s.SetFillValue("newg/d", "-7"));
  ok(s.SetAttributeText("newg/d", "scale", "2.5"));
  ok(s.SetAttributeType("newg/d", "scale", "<f8"));
  // A refused partial row: the content stays at its last close.
  ok(s.Write("newg/d", 10, "xyz").status());
  ok(s.Write("newg/d", 3 * 65536 + 400, "ab").status());
  BOOST_TEST(s.Flush("newg/d").code() == Code::kInvalidArgument);
  // Grown with fill: whole rows past the end.
  ok(s.Truncate("newg/d", 3 * 65536 + 400 + 4 * 5000));
  ok(s.Flush("newg/d"));
  // Renames of a group and of datasets of the base, a removal.
  ok(s.Rename("sub", "sub2"));
  ok(s.Rename("other", "newg/moved"));
  ok(s.Write("newg/moved", 65536 - 5, Pattern(4, 10)).status());
  ok(s.Flush("newg/moved"));
  ok(s.Unlink("gone"));
  // Pages of a base dataset written, then the dataset cut shorter.
  ok(s.Write("values", 8 * 1500, Pattern(5, 8 * 3000)).status());
  ok(s.Flush("values"));
  ok(s.Write("values", 8 * 100, Pattern(6, 8 * 9000)).status());
  ok(s.Flush("values"));
  ok(s.Truncate("values", 8 * 15000));
  ok(s.Flush("values"));
  ok(s.SetAttributeText("values", "units", "km"));
  ok(s.SetAttributeType("values", "n", "<i8"));
  ok(s.SetAttributeText("values", "n", "5"));
  ok(s.RemoveAttribute("sub2", "desc"));
  ok(s.SetAttributeText("", "note", "root attribute"));
  // A trailing dimension resized: the elements move, a new content.
  ok(s.SetShape("sub2/grid", {7, 6}));
  ok(s.Write("sub2/grid", 0, std::string(24, '\x11')).status());
  ok(s.Flush("sub2/grid"));
  // Strings: whole lines.
  ok(s.Write("names", 6, "d\ne\n").status());
  ok(s.Flush("names"));
  // A dataset replaced by a rename over it.
  ok(s.CreateDataset("newg/victim"));
  ok(s.Write("newg/victim", 0, Pattern(7, 70000)).status());
  ok(s.Flush("newg/victim"));
  ok(s.Rename("newg/d", "newg/victim"));
  ok(s.SetCommitTimestamp("2024-01-01 13:00:00.000001+0000"));
  ok(s.SetMakeCurrent(false));
}

// Stages `change` on `f`'s staging and commits it as `name` in a child
// process that dies at crash point `at`, as a kill there would; the child's
// exit status (99: it died there). `f` is stale afterwards: reopen it.
int CommitInChild(vh5::VersionedFile& f, vh5::crash::Point at, const std::string& name,
                  const std::function<void(vh5::Staging&)>& change) {
  return ExitStatusInChild([&] {
    auto s = OpenStaging(f);
    change(*s);
    vh5::crash::Arm(at, 1);
    return s->Commit(f, name).ok() ? 0 : 1;
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(staging_durable)

BOOST_AUTO_TEST_CASE(every_kind_of_change_comes_back_in_a_fresh_staging) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  std::map<std::string, std::string> before, again;
  {
    auto s = OpenStaging(*f);
    BOOST_TEST(s->durable());
    BOOST_TEST(s->base_name() == "base");
    BOOST_TEST(!fs::exists(StateDir(file)));  // nothing written until a change
    ChangeEverything(*s);
    before = Dump(*s);
    // Writes never closed are not part of the state.
    BOOST_TEST_REQUIRE(s->Write("values", 0, std::string(100000, 'z')).ok());
    BOOST_TEST_REQUIRE(s->Write("newg/moved", 0, std::string(10, 'z')).ok());
  }
  BOOST_TEST(fs::exists(StateDir(file) / "log"));
  {
    auto s = OpenStaging(*f);
    again = Dump(*s);
    CheckSame(before, again);
    // And it commits what it shows, with its settings.
    std::string note;
    BOOST_TEST_REQUIRE(s->Commit(*f, "next", &note).ok());
    BOOST_TEST(note.empty(), note);
    auto info = f->GetVersionInfo("next");
    BOOST_TEST_REQUIRE(info.ok());
    BOOST_TEST(info->timestamp == "2024-01-01 13:00:00.000001+0000");
    BOOST_TEST(f->CurrentVersion().value_or("") == "base");  // not made current
    BOOST_TEST(!fs::exists(StateDir(file)));
    BOOST_TEST(!s->HasChanges());
    BOOST_TEST(s->base_name() == "base");  // the current version
  }
  f.reset();
  {
    // The same tree, read back from the file (settings and base aside).
    auto reader = vh5::VersionedFile::OpenReadOnly(file.string());
    BOOST_TEST_REQUIRE(reader.ok());
    auto committed = (*reader)->GetVersion("next");
    BOOST_TEST_REQUIRE(committed.ok());
    vh5::Staging plain(*committed);
    std::map<std::string, std::string> seen = Dump(plain);
    for (const char* key : {"<base>", "<settings>", "<changed>"}) {
      seen.erase(key);
      again.erase(key);
    }
    CheckSame(again, seen);
  }
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(the_state_survives_reopen_after_reopen_and_a_log_rewrite) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  std::map<std::string, std::string> before;
  {
    auto s = OpenStaging(*f);
    ChangeEverything(*s);
  }
  {
    // Changes on top of a replayed state, many enough to rewrite the log whole.
    auto s = OpenStaging(*f);
    std::string big(100000, 'q');
    for (int i = 0; i < 120; ++i) {
      BOOST_TEST_REQUIRE(s->SetAttributeText("newg", "big", big + std::to_string(i)).ok());
      BOOST_TEST_REQUIRE(
          s->Write("values", 8 * static_cast<uint64_t>(i) * 37, Pattern(i, 64)).ok());
      BOOST_TEST_REQUIRE(s->Flush("values").ok());
    }
    BOOST_TEST_REQUIRE(s->Rename("newg/moved", "moved-back").ok());
    before = Dump(*s);
    // Rewritten whole more than once: far below the 12 MB of records.
    BOOST_TEST(fs::file_size(StateDir(file) / "log") < (6u << 20));
  }
  auto s = OpenStaging(*f);
  CheckSame(before, Dump(*s));
}

BOOST_AUTO_TEST_CASE(a_torn_tail_is_recovered_up_to_the_last_whole_record) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  std::map<std::string, std::string> before;
  uint64_t whole = 0;
  {
    auto s = OpenStaging(*f);
    BOOST_TEST_REQUIRE(s->Mkdir("kept").ok());
    BOOST_TEST_REQUIRE(s->Write("values", 0, Pattern(9, 200000)).ok());
    BOOST_TEST_REQUIRE(s->Flush("values").ok());
    before = Dump(*s);
    BOOST_TEST_REQUIRE(s->Sync().ok());
    whole = fs::file_size(StateDir(file) / "log");
    BOOST_TEST_REQUIRE(s->Mkdir("torn").ok());
  }
  // The record of the last change cut short (with the sync mark after it), as
  // a kill mid-write(2) leaves it.
  fs::path log = StateDir(file) / "log";
  BOOST_TEST_REQUIRE(fs::file_size(log) > whole + 5);
  fs::resize_file(log, whole + 5);
  {
    std::string note;
    auto s = OpenStaging(*f, &note);
    BOOST_TEST(note.find("recovered") != std::string::npos, note);
    CheckSame(before, Dump(*s));
    BOOST_TEST(fs::file_size(log) == whole);
    // The torn bytes are kept, and the log goes on from the whole records.
    int torn_files = 0;
    for (const auto& e : fs::directory_iterator(StateDir(file)))
      torn_files += e.path().filename().string().rfind("torn-", 0) == 0;
    BOOST_TEST(torn_files == 1);
    BOOST_TEST_REQUIRE(s->Mkdir("after").ok());
  }
  auto s = OpenStaging(*f);
  BOOST_TEST(s->Kind("after").ok());
  BOOST_TEST(s->Kind("kept").ok());
  BOOST_TEST(!s->Kind("torn").ok());
  s.reset();  // the state has one owner at a time
  // Garbage after the records is a torn tail too.
  {
    std::ofstream out(log, std::ios::app | std::ios::binary);
    out << std::string(50, '\x7f');
  }
  std::string note;
  auto again = OpenStaging(*f, &note);
  BOOST_TEST(note.find("recovered") != std::string::npos, note);
  BOOST_TEST(again->Kind("after").ok());
}

BOOST_AUTO_TEST_CASE(records_after_the_last_sync_are_replayed_only_within_the_same_boot) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  fs::path log = StateDir(file) / "log";
  std::map<std::string, std::string> synced;
  uint64_t whole = 0;
  {
    auto s = OpenStaging(*f);
    BOOST_TEST_REQUIRE(s->Mkdir("kept").ok());
    synced = Dump(*s);
  }  // synced: the destructor leaves a mark
  whole = fs::file_size(log);
  // Records written, never synced, by a process of `boot` (what a kill -9 leaves).
  auto append_unsynced = [&](const std::string& boot) {
    auto w = vh5::RecordWriter::Append(log.string(), fs::file_size(log));
    BOOST_TEST_REQUIRE(w.ok());
    w->Add(static_cast<uint8_t>(vh5::RecordType::kSession), vh5::Encode(vh5::SessionRecord{boot}));
    w->Add(static_cast<uint8_t>(vh5::RecordType::kPlace),
           vh5::Encode(vh5::PlaceRecord{"unsynced", vh5::NodeKind::kGroup, false, ""}));
    BOOST_TEST_REQUIRE(w->Write().ok());
  };
  std::string boot_id;
  std::getline(std::ifstream("/proc/sys/kernel/random/boot_id"), boot_id);
  BOOST_TEST_REQUIRE(!boot_id.empty());
  // This boot: the kernel kept them, they are replayed.
  append_unsynced(boot_id);
  {
    auto s = OpenStaging(*f);
    BOOST_TEST(s->Kind("unsynced").ok());
    BOOST_TEST_REQUIRE(s->Rmdir("unsynced").ok());
  }
  // An earlier boot: their pages may never have reached the disk. Kept aside,
  // not replayed; the log goes on from the last mark.
  whole = fs::file_size(log);
  append_unsynced("an-earlier-boot");
  std::string note;
  {
    auto s = OpenStaging(*f, &note);
    BOOST_TEST(note.find("before the machine restarted") != std::string::npos, note);
    CheckSame(synced, Dump(*s));
    BOOST_TEST(fs::file_size(log) == whole);
  }
  int torn_files = 0;
  for (const auto& e : fs::directory_iterator(StateDir(file)))
    torn_files += e.path().filename().string().rfind("torn-", 0) == 0;
  BOOST_TEST(torn_files == 1);
  auto s = OpenStaging(*f);  // and the next open finds nothing more to say
  CheckSame(synced, Dump(*s));
}

BOOST_AUTO_TEST_CASE(a_state_that_cannot_be_used_is_set_aside_and_staging_starts_clean) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  fs::path state = StateDir(file);
  auto stage_something = [&] {
    auto s = OpenStaging(*f);
    BOOST_TEST_REQUIRE(s->Mkdir("g").ok());
    BOOST_TEST_REQUIRE(s->Write("values", 0, Pattern(1, 300000)).ok());
    BOOST_TEST_REQUIRE(s->Flush("values").ok());
  };
  // The note says why, in the words `reason` holds.
  auto expect_set_aside = [&](size_t count, const std::string& why, const std::string& reason) {
    std::string note;
    auto s = OpenStaging(*f, &note);
    BOOST_TEST(note.find("cannot be used") != std::string::npos, why << ": " << note);
    BOOST_TEST(note.find(reason) != std::string::npos, why << ": " << note);
    BOOST_TEST(!s->HasChanges(), why);
    BOOST_TEST(s->base_name() == "base");
    BOOST_TEST(!fs::exists(state), why);
    BOOST_TEST(SetAside(file).size() == count, why);
  };
  // A header that does not check out: its CRC's first byte flipped (a
  // constant would already be there once in 256 runs).
  stage_something();
  {
    std::fstream io(state / "log", std::ios::in | std::ios::out | std::ios::binary);
    char first = 0;
    BOOST_TEST_REQUIRE(static_cast<bool>(io.get(first)));
    io.seekp(0);
    io.put(static_cast<char>(~first));
  }
  expect_set_aside(1, "torn header", "does not start with a header");
  // Pages the log names are missing from the pages file.
  stage_something();
  fs::resize_file(state / "pages", 65536);
  expect_set_aside(2, "short pages file", "cannot hold");
  // Records that check out but do not fit the tree: a node removed twice.
  stage_something();
  {
    auto w = vh5::RecordWriter::Append((state / "log").string(), fs::file_size(state / "log"));
    BOOST_TEST_REQUIRE(w.ok());
    w->Add(static_cast<uint8_t>(vh5::RecordType::kRemove),
           vh5::Encode(vh5::PathRecord{"nope", ""}));
    BOOST_TEST_REQUIRE(w->Write().ok());
  }
  expect_set_aside(3, "a record about a missing node", "the record at byte");
  // A base version no longer in the file.
  {
    auto w = vh5::RecordWriter::Create((dir.path() / "log").string());
    BOOST_TEST_REQUIRE(w.ok());
    w->Add(static_cast<uint8_t>(vh5::RecordType::kHeader),
           vh5::Encode(vh5::HeaderRecord{"deleted-version", "", false}));
    BOOST_TEST_REQUIRE(w->Write().ok());
    fs::create_directory(state);
    fs::rename(dir.path() / "log", state / "log");
  }
  expect_set_aside(4, "a missing base", "base version deleted-version is no longer in");
  // A base of that name, but not the one staged on (deleted and made again).
  {
    auto w = vh5::RecordWriter::Create((dir.path() / "log").string());
    BOOST_TEST_REQUIRE(w.ok());
    w->Add(static_cast<uint8_t>(vh5::RecordType::kHeader),
           vh5::Encode(vh5::HeaderRecord{"base", "1999-01-01 00:00:00.000000+0000", false}));
    BOOST_TEST_REQUIRE(w->Write().ok());
    fs::create_directory(state);
    fs::rename(dir.path() / "log", state / "log");
  }
  expect_set_aside(5, "a base made again", "was replaced by one of");
  // What was set aside is whole: the broken log is there to look at.
  for (const fs::path& p : SetAside(file)) BOOST_TEST(fs::exists(p / "log"), p);
  // Leftovers without a log (a state made or deleted part way) are no state.
  fs::create_directory(state);
  WriteFile(state / "pages", std::string(65536, 'x'));
  auto s = OpenStaging(*f);
  BOOST_TEST(!fs::exists(state));
  BOOST_TEST(!s->HasChanges());
}

BOOST_AUTO_TEST_CASE(a_crash_between_commit_and_clearing_does_not_bring_changes_back) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  // A crash once the commit is made, before the state is cleared.
  int status = CommitInChild(*f, vh5::crash::Point::kAfterCommit, "done",
                             [](vh5::Staging& s) { BOOST_TEST_REQUIRE(s.Mkdir("g").ok()); });
  BOOST_TEST(status == 99);
  BOOST_TEST(fs::exists(StateDir(file) / "log"));
  f.reset();  // the child changed the file under it
  f = OpenWritable(file);
  BOOST_TEST_REQUIRE(f->GetVersionInfo("done").ok());
  {
    std::string note;
    auto s = OpenStaging(*f, &note);
    BOOST_TEST(note.find("already committed as version done") != std::string::npos, note);
    BOOST_TEST(!s->HasChanges());
    BOOST_TEST(s->base_name() == "done");
    BOOST_TEST(!fs::exists(StateDir(file)));
  }
  // A crash before the commit took: the version is not there, the changes stay.
  status = CommitInChild(*f, vh5::crash::Point::kCommitNoted, "never",
                         [](vh5::Staging& s) { BOOST_TEST_REQUIRE(s.Mkdir("h").ok()); });
  BOOST_TEST(status == 99);
  f.reset();  // the child changed the file under it
  f = OpenWritable(file);
  BOOST_TEST(!f->GetVersionInfo("never").ok());
  // Nor is a version of that name and base made by another writer, at another time.
  {
    vh5::NewVersion other;
    other.name = "never";
    other.prev_version = "done";
    other.timestamp = "2020-01-01 00:00:00.000000+0000";
    BOOST_TEST_REQUIRE(f->Commit(other).ok());
  }
  {
    auto s = OpenStaging(*f);
    BOOST_TEST(s->Kind("h").ok());
    // A commit that fails says so: a later version of that name is not this one.
    BOOST_TEST(s->Commit(*f, "done").code() == vh5::Status::Code::kExists);
    BOOST_TEST(s->Kind("h").ok());
  }
  auto s = OpenStaging(*f);
  BOOST_TEST(s->Kind("h").ok());
  BOOST_TEST(s->HasChanges());
}

BOOST_AUTO_TEST_CASE(discard_deletes_the_state_and_rebase_persists_the_base) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  {
    auto s = OpenStaging(*f);
    BOOST_TEST_REQUIRE(s->Write("values", 0, Pattern(1, 300000)).ok());
    BOOST_TEST_REQUIRE(s->Flush("values").ok());
    BOOST_TEST_REQUIRE(s->SetCommitTimestamp("2024-01-01 13:00:00+0000").ok());
    BOOST_TEST(s->Rebase(nullptr).code() == Code::kBusy);
    BOOST_TEST_REQUIRE(s->Discard(false).ok());
    BOOST_TEST(!fs::exists(StateDir(file)));
    BOOST_TEST(s->commit_timestamp().empty());
    BOOST_TEST(!s->HasChanges());
  }
  {
    auto s = OpenStaging(*f);
    BOOST_TEST(!s->HasChanges());
    BOOST_TEST(!fs::exists(StateDir(file)));
    // Rebased onto v0, with a setting: both come back.
    auto v0 = f->GetVersion("v0");
    BOOST_TEST_REQUIRE(v0.ok());
    BOOST_TEST_REQUIRE(s->SetMakeCurrent(false).ok());
    BOOST_TEST_REQUIRE(s->Rebase(*v0).ok());
    BOOST_TEST(s->base_name() == "v0");
  }
  {
    auto s = OpenStaging(*f);
    BOOST_TEST(s->base_name() == "v0");
    BOOST_TEST(!s->make_current());
    BOOST_TEST(!s->Kind("names").ok());
    BOOST_TEST_REQUIRE(s->Write("values", 0, Pattern(2, 1000)).ok());
    BOOST_TEST_REQUIRE(s->Flush("values").ok());
    // Discarding keeps the base it is not the current version's: the next open mirrors it.
    BOOST_TEST_REQUIRE(s->Discard(true).ok());
  }
  auto s = OpenStaging(*f);
  BOOST_TEST(s->base_name() == "v0");
  BOOST_TEST(!s->HasChanges());
  BOOST_TEST(s->make_current());
}

BOOST_AUTO_TEST_CASE(one_process_at_a_time_owns_the_durable_state) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  const fs::path lock = dir.path() / ".base.h5.vh5-staging.lock";
  // Another process's Open: 0 when Busy, 1 when it opened the state and
  // found the changes, 2 otherwise.
  auto other_open = [&] {
    return ExitStatusInChild([&] {
      std::string note;
      auto other = vh5::Staging::Open(*f, &note);
      if (!other.ok()) return other.status().code() == Code::kBusy ? 0 : 2;
      return (*other)->HasChanges() ? 1 : 2;
    });
  };
  {
    auto s = OpenStaging(*f);
    BOOST_TEST_REQUIRE(s->Write("values", 0, Pattern(1, 3000)).ok());
    BOOST_TEST_REQUIRE(s->Flush("values").ok());
    std::string note;
    auto second = vh5::Staging::Open(*f, &note);
    BOOST_TEST_REQUIRE(!second.ok());
    BOOST_TEST(second.status().code() == Code::kBusy);
    const std::string& message = second.status().message();
    BOOST_TEST(message.find(StateDir(file).string()) != std::string::npos, message);
    BOOST_TEST(message.find("(pid " + std::to_string(::getpid()) + ")") != std::string::npos,
               message);
    BOOST_TEST(other_open() == 0, "another process is refused too");
    // The offline reader of the state waits for no owner: Busy.
    BOOST_TEST(vh5::Staging::PersistedBase(file.string()).status().code() == Code::kBusy);
  }
  BOOST_TEST(fs::exists(lock), "a lock file is never deleted");
  BOOST_TEST(other_open() == 1, "the owner gone, another process owns the state, changes and all");
  auto base = vh5::Staging::PersistedBase(file.string());
  BOOST_TEST_REQUIRE(base.ok(), base.status().ToString());
  BOOST_TEST(base->value_or("") == "base");
  BOOST_TEST(OpenStaging(*f)->HasChanges());
}

BOOST_AUTO_TEST_CASE(pages_a_persisted_state_names_wait_for_a_sync_before_reuse) {
  TempDir dir;
  fs::path path = dir.path() / "pages";
  vh5::ScratchFile scratch(vh5::ScratchFile::Named{}, path.string());
  std::vector<uint64_t> held;
  for (int i = 0; i < 4; ++i) {
    auto page = scratch.Allocate();
    BOOST_TEST_REQUIRE(page.ok());
    BOOST_TEST_REQUIRE(scratch.Write(*page, 0, std::string(65536, 'a' + i).data(), 65536).ok());
    held.push_back(*page);
  }
  BOOST_TEST_REQUIRE(scratch.Sync().ok());
  scratch.ReleaseWhenSynced({held[0], held[1]});
  // Not reused, not punched out: a crash now still finds them as the log names them.
  auto fresh = scratch.Allocate();
  BOOST_TEST_REQUIRE(fresh.ok());
  BOOST_TEST(*fresh == 4u);
  std::string got(65536, '\0');
  BOOST_TEST_REQUIRE(scratch.Read(held[0], 0, got.size(), got.data()).ok());
  BOOST_TEST(got == std::string(65536, 'a'));
  BOOST_TEST(scratch.pages_in_use() == 3u);
  scratch.Synced();
  auto reused = scratch.Allocate();
  BOOST_TEST_REQUIRE(reused.ok());
  BOOST_TEST((*reused == held[0] || *reused == held[1]));
  // Running out of free pages asks the owner to make the state durable first.
  vh5::ScratchFile other(vh5::ScratchFile::Named{}, (dir.path() / "other").string());
  BOOST_TEST_REQUIRE(other.Allocate().ok());
  other.ReleaseWhenSynced({0});
  int asked = 0;
  other.SetReclaim([&] {
    ++asked;
    other.Synced();
    return true;
  });
  auto again = other.Allocate();
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(*again == 0u);
  BOOST_TEST(asked == 1);
}

BOOST_AUTO_TEST_CASE(a_removed_held_dataset_is_never_persisted_and_its_pages_go_after_a_sync) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  auto ok = [](const vh5::Status& st) { BOOST_TEST_REQUIRE(st.ok(), st.ToString()); };
  {
    auto s = OpenStaging(*f);
    auto old_a = s->CreateDataset(vh5::Staging::kRootId, "a");
    BOOST_TEST_REQUIRE(old_a.ok());
    ok(s->Write(*old_a, 0, Pattern(1, 4 * 65536)).status());
    ok(s->Flush(*old_a));
    ok(s->Sync());
    ok(s->Hold(*old_a));
    ok(s->Unlink("a"));
    ok(s->CreateDataset("a"));
    ok(s->Write("a", 0, "new").status());
    ok(s->Flush("a"));
    // Written and closed while detached: its own, in no record.
    ok(s->Write(*old_a, 65536, Pattern(2, 2 * 65536)).status());
    ok(s->Flush(*old_a));
    BOOST_TEST(s->ScratchPages() >= 5u);
    s->Release(*old_a);
    // Its fresh pages are free at once, those the log named after a sync.
    ok(s->Sync());
    BOOST_TEST(s->ScratchPages() == 1u);
  }
  auto s = OpenStaging(*f);
  BOOST_TEST((ReadStaged(*s, "a") == "new"));
  BOOST_TEST(s->ScratchPages() == 1u);
}

BOOST_AUTO_TEST_CASE(a_dataset_detached_by_a_commit_never_writes_into_the_next_state) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  auto ok = [](const vh5::Status& st) { BOOST_TEST_REQUIRE(st.ok(), st.ToString()); };
  auto s = OpenStaging(*f);
  // Made and held before the state had any page: its scratch file never opened.
  ok(s->CreateDataset("x"));
  vh5::Staging::NodeId x = *s->Resolve("x");
  ok(s->Hold(x));
  ok(s->Unlink("x"));
  ok(s->Mkdir("g"));
  ok(s->Commit(*f, "c1"));  // the state goes; a new one starts
  auto base = f->GetVersion("base");
  BOOST_TEST_REQUIRE(base.ok());
  ok(s->CreateDataset("b"));
  std::string b = Pattern(3, 3 * 65536);
  ok(s->Write("b", 0, b).status());
  ok(s->Flush("b"));
  // The old state's dataset writes pages of its own, not the new state's file.
  ok(s->Write(x, 0, Pattern(4, 3 * 65536)).status());
  ok(s->Flush(x));
  BOOST_TEST((ReadStaged(*s, "b") == b));
  s->Release(x);
  s.reset();
  s = OpenStaging(*f);
  BOOST_TEST((ReadStaged(*s, "b") == b));

  // A base dataset whose path the next base lacks, written only once
  // detached, then a rebase (which starts the state's pages afresh).
  ok(s->Discard(false));
  vh5::Staging::NodeId gone = *s->Resolve("gone");
  ok(s->Hold(gone));
  auto v0 = f->GetVersion("v0");
  BOOST_TEST_REQUIRE(v0.ok());
  ok(s->Rebase(*v0));
  BOOST_TEST(!s->Attached(gone));
  std::string mine = Pattern(5, 2 * 65536);
  ok(s->Write(gone, 0, mine).status());
  ok(s->Rebase(*base));
  ok(s->CreateDataset("c"));
  ok(s->Write("c", 0, Pattern(6, 2 * 65536)).status());
  ok(s->Flush("c"));
  std::string got(mine.size(), '\0');
  BOOST_TEST(*s->Read(gone, 0, got.size(), got.data()) == mine.size());
  BOOST_TEST((got == mine));
  s->Release(gone);
}

BOOST_AUTO_TEST_SUITE_END()
