// Durable staging through real mounts: changes made with shell tools come
// back after an unmount and after kill -9 of vh5fs at several points (one
// of them mid-write), commit as h5py reads them; discard, commit and a
// crash right after a commit clear the state; -o ro never touches it.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "test_util.h"

using namespace vh5test;

namespace {

// Bytes no two blocks share.
std::string Pattern(uint64_t seed, size_t n) {
  std::string out(n, '\0');
  uint64_t z = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < n; i += 8) {
    z ^= z << 13;
    z ^= z >> 7;
    z ^= z << 17;
    std::memcpy(out.data() + i, &z, std::min<size_t>(8, n - i));
  }
  return out;
}

// What staging/ (or a version) shows: every node's bytes (or "<dir>") and
// every xattr, by relative path; `root_xattrs`: the root's own too (a
// version's and staging/'s differ by nature).
std::map<std::string, std::string> Observe(const fs::path& root, bool root_xattrs = false) {
  std::map<std::string, std::string> out;
  for (const std::string& name : ListXattrs(root))
    if (root_xattrs || name.rfind("user.h5.", 0) == 0)
      out["./" + name] = GetXattr(root, name).value_or("<gone>");
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    out[rel] = e.is_directory() ? "<dir>" : Sha256Hex(ReadFile(e.path()));
    for (const std::string& name : ListXattrs(e.path()))
      out[rel + "/" + name] = GetXattr(e.path(), name).value_or("<gone>");
  }
  return out;
}

void CheckSame(const std::map<std::string, std::string>& want,
               const std::map<std::string, std::string>& got, const std::string& when) {
  for (const auto& [key, value] : want) {
    auto it = got.find(key);
    BOOST_TEST((it != got.end()), when << ": missing " << key);
    if (it != got.end()) BOOST_TEST(it->second == value, when << ": " << key);
  }
  for (const auto& [key, value] : got)
    BOOST_TEST(want.count(key) == 1u, when << ": unexpected " << key);
}

// kill -9 of the daemon; its dead mount comes down at once.
void Kill(std::unique_ptr<Mount>& mount) {
  BOOST_REQUIRE(::kill(mount->pid(), SIGKILL) == 0);
  while (mount->Ended().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  mount.reset();
}

fs::path StateDir(const fs::path& file) {
  return file.parent_path() / ("." + file.filename().string() + ".vh5-staging");
}

// A file with version v1: old, keep, big (4 MiB <u8), grid (<f8, 100x8).
fs::path MakeFile(const TempDir& dir) {
  fs::path file = dir.path() / "data.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  WriteFile(staging / "old", Pattern(1, 5000));
  WriteFile(staging / "keep", Pattern(2, 300000));
  WriteFile(staging / "big", Pattern(3, 4 << 20));
  SetX(staging / "big", "user.vh5.dtype", "<u8");
  WriteFile(staging / "grid", Pattern(4, 100 * 8 * 8));
  SetX(staging / "grid", "user.vh5.dtype", "<f8");
  SetX(staging / "grid", "user.vh5.shape", "100,8");
  fs::rename(staging, mount.root() / "versions/v1");
  return file;
}

int WriteAt(const fs::path& path, uint64_t offset, const std::string& data, bool close_it,
            int* fd_out = nullptr) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) ==
                static_cast<ssize_t>(data.size()));
  if (!close_it) {
    *fd_out = fd;
    return 0;
  }
  return ::close(fd) == 0 ? 0 : errno;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_durable)

BOOST_AUTO_TEST_CASE(staged_changes_survive_unmounts_and_kills_then_commit_whole) {
  TempDir dir;
  fs::path file = MakeFile(dir);
  auto mount = std::make_unique<Mount>(file);
  auto staging = [&] { return mount->root() / "staging"; };

  // 1. Changes of every kind, none fsynced; kill -9.
  fs::create_directories(staging() / "g/deep");
  WriteFile(staging() / "g/a", Pattern(10, 3 << 20));
  SetX(staging() / "g/a", "user.vh5.dtype", "<f8");
  SetX(staging() / "g/a", "user.h5.units", "m/s");
  SetX(staging() / "g", "user.h5.note", "a group");
  fs::remove(staging() / "old");
  fs::rename(staging() / "keep", staging() / "g/kept");
  BOOST_TEST_REQUIRE(::truncate((staging() / "big").c_str(), 1 << 20) == 0);
  WriteAt(staging() / "grid", 8 * 8 * 10, Pattern(11, 8 * 8 * 3), true);
  SetX(staging() / "grid", "user.vh5.shape", "120,8");
  SetX(staging(), "user.vh5.timestamp", "2024-05-01 10:00:00.000000+0000");
  SetX(staging(), "user.vh5.make_current", "0");
  std::map<std::string, std::string> want = Observe(staging(), true);
  Kill(mount);
  mount = std::make_unique<Mount>(file);
  CheckSame(want, Observe(staging(), true), "after kill -9 (1)");

  // 2. A clean unmount.
  Sh({"/bin/cp", "-a", (mount->root() / "versions/v1/keep").string(),
      (staging() / "g/copy").string()});
  want = Observe(staging(), true);
  mount.reset();
  mount = std::make_unique<Mount>(file);
  CheckSame(want, Observe(staging(), true), "after unmount");

  // 3. kill -9 in the middle of a multi-MiB write: the file being written
  // shows its last closed content, the files closed before come back whole.
  WriteFile(staging() / "g/b", Pattern(12, 5 << 20));
  want = Observe(staging(), true);
  int fd = -1;
  WriteAt(staging() / "g/a", 0, Pattern(13, 6 << 20), false, &fd);
  BOOST_TEST(fs::file_size(staging() / "g/a") == (6u << 20));
  Kill(mount);
  ::close(fd);  // fails: the daemon is gone
  mount = std::make_unique<Mount>(file);
  CheckSame(want, Observe(staging(), true), "after kill -9 mid-write");

  // 4. A close refused (a partial row) keeps the last valid content; kill -9.
  BOOST_TEST(WriteAt(staging() / "grid", 120 * 64, "xyz", true) == EINVAL);
  Kill(mount);
  mount = std::make_unique<Mount>(file);
  CheckSame(want, Observe(staging(), true), "after a refused close and kill -9");

  // 5. fsync(2) of a staged file and of staging/ itself is taken; kill -9 after it.
  SetX(staging(), "user.vh5.make_current", "1");
  SetX(staging() / "g/b", "user.h5.after", "the fsync");
  want = Observe(staging(), true);
  int dfd = ::open(staging().c_str(), O_RDONLY | O_DIRECTORY);
  BOOST_TEST_REQUIRE(dfd >= 0);
  BOOST_TEST(::fsync(dfd) == 0);
  ::close(dfd);
  int ffd = ::open((staging() / "g/b").c_str(), O_RDONLY);
  BOOST_TEST(::fsync(ffd) == 0);
  ::close(ffd);
  Kill(mount);
  mount = std::make_unique<Mount>(file);
  CheckSame(want, Observe(staging(), true), "after fsync and kill -9");

  // The commit holds what staging showed, as h5py reads it; the state is gone.
  BOOST_TEST(fs::exists(StateDir(file) / "log"));
  fs::rename(staging(), mount->root() / "versions/v2");
  BOOST_TEST(!fs::exists(StateDir(file)));
  std::map<std::string, std::string> committed = Observe(mount->root() / "versions/v2");
  for (const auto& [key, value] : want)
    if (key.rfind("./user.vh5.", 0) != 0) BOOST_TEST(committed[key] == value, "v2: " << key);
  BOOST_TEST(committed.size() + 3 == want.size());  // staging/'s own three settings aside
  BOOST_TEST(GetXattr(mount->root() / "versions/v2", "user.vh5.timestamp").value_or("") ==
             "2024-05-01 10:00:00.000000+0000");
  mount.reset();
  boost::property_tree::ptree oracle = H5pyOracle(file);
  const auto& v2 = At(At(oracle, "versions"), "v2");
  BOOST_TEST(v2.get<std::string>("prev_version") == "v1");
  const auto& datasets = At(v2, "datasets");
  auto sha = [&](const std::string& path) { return At(datasets, path).get<std::string>("sha256"); };
  BOOST_TEST(sha("g/a") == want["g/a"]);
  BOOST_TEST(sha("g/b") == want["g/b"]);
  BOOST_TEST(sha("g/kept") == want["g/kept"]);
  BOOST_TEST(sha("g/copy") == want["g/copy"]);
  BOOST_TEST(sha("big") == want["big"]);
  BOOST_TEST(sha("grid") == want["grid"]);
  std::vector<std::string> shape;
  for (const auto& [k, dim] : At(At(datasets, "grid"), "shape")) shape.push_back(dim.data());
  BOOST_TEST((shape == std::vector<std::string>{"120", "8"}));
  BOOST_TEST(At(datasets, "g/a").get<std::string>("dtype") == "float64");  // str(numpy dtype)
  BOOST_TEST((datasets.find("old") == datasets.not_found()));
  BOOST_TEST((datasets.find("keep") == datasets.not_found()));
  VerifyClean(file);
  // A fresh mount mirrors v2 with nothing staged.
  Mount again(file);
  CheckSame(Observe(again.root() / "versions/v2"), Observe(again.root() / "staging"),
            "staging after the commit");
}

BOOST_AUTO_TEST_CASE(discard_clears_the_state_for_good_and_rebase_persists) {
  TempDir dir;
  fs::path file = MakeFile(dir);
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    WriteFile(staging / "new", Pattern(20, 1 << 20));
    fs::remove(staging / "old");
    SetX(staging, "user.vh5.make_current", "0");
    BOOST_TEST(fs::exists(StateDir(file) / "log"));
    SetX(staging, "user.vh5.discard", "1");
    BOOST_TEST(!fs::exists(StateDir(file)));
    CheckSame(Observe(mount.root() / "versions/v1"), Observe(staging), "after discard");
  }
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    CheckSame(Observe(mount.root() / "versions/v1"), Observe(staging), "remounted after discard");
    BOOST_TEST(GetXattr(staging, "user.vh5.make_current").value_or("") == "1");
    // A second version; staging rebased onto v1 again, which the next mount keeps.
    WriteFile(staging / "more", Pattern(21, 1000));
    fs::rename(staging, mount.root() / "versions/v2");
    SetX(staging, "user.vh5.prev_version", "v1");
    WriteFile(staging / "on-v1", Pattern(22, 1000));
  }
  std::unique_ptr<Mount> mount = std::make_unique<Mount>(file);
  fs::path staging = mount->root() / "staging";
  BOOST_TEST(GetXattr(staging, "user.vh5.prev_version").value_or("") == "v1");
  BOOST_TEST(fs::exists(staging / "on-v1"));
  BOOST_TEST(!fs::exists(staging / "more"));
  // Discarding keeps the base, in this mount and the next (even after kill -9).
  SetX(staging, "user.vh5.discard", "1");
  Kill(mount);
  mount = std::make_unique<Mount>(file);
  staging = mount->root() / "staging";
  BOOST_TEST(GetXattr(staging, "user.vh5.prev_version").value_or("") == "v1");
  CheckSame(Observe(mount->root() / "versions/v1"), Observe(staging), "discarded on v1");
  // Staged on the rebased base, killed, committed: a version made from v1.
  WriteFile(staging / "on-v1", Pattern(23, 3000));
  std::map<std::string, std::string> want = Observe(staging);
  Kill(mount);
  mount = std::make_unique<Mount>(file);
  staging = mount->root() / "staging";
  fs::rename(staging, mount->root() / "versions/v3");
  CheckSame(want, Observe(mount->root() / "versions/v3"), "v3");
  BOOST_TEST(GetXattr(mount->root() / "versions/v3", "user.vh5.prev_version").value_or("") == "v1");
}

BOOST_AUTO_TEST_CASE(a_crash_right_after_a_commit_does_not_bring_the_changes_back) {
  TempDir dir;
  fs::path file = MakeFile(dir);
  std::map<std::string, std::string> staged;
  {
    ::setenv("VH5FS_TEST_EXIT_AFTER_COMMIT", "1", 1);
    auto mount = std::make_unique<Mount>(file, std::vector<std::string>{}, CrashableVh5fsBinary());
    ::unsetenv("VH5FS_TEST_EXIT_AFTER_COMMIT");
    fs::path staging = mount->root() / "staging";
    WriteFile(staging / "new", Pattern(30, 2 << 20));
    fs::remove(staging / "old");
    staged = Observe(staging);
    // vh5fs exits once the commit is durable, before it clears the state.
    ::rename(staging.c_str(), (mount->root() / "versions/v2").c_str());
    while (mount->Ended().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    BOOST_TEST(mount->Ended().find("status 99") != std::string::npos, mount->Ended());
  }
  BOOST_TEST(fs::exists(StateDir(file) / "log"));
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  BOOST_TEST(!fs::exists(StateDir(file)));
  CheckSame(staged, Observe(mount.root() / "versions/v2"), "v2");
  BOOST_TEST(fs::read_symlink(mount.root() / "current") == "versions/v2");
  // staging/ mirrors v2, nothing staged on top of it.
  CheckSame(Observe(mount.root() / "versions/v2"), Observe(staging), "staging after the crash");
  BOOST_TEST(GetXattr(staging, "user.vh5.prev_version").value_or("") == "v2");
}

BOOST_AUTO_TEST_CASE(read_only_mounts_never_touch_the_state) {
  TempDir dir;
  fs::path file = MakeFile(dir);
  {
    Mount mount(file);
    WriteFile(mount.root() / "staging/new", Pattern(40, 100000));
  }
  fs::path log = StateDir(file) / "log";
  FileState before = FileState::Of(log);
  {
    Mount mount(file, {"-o", "ro"});
    BOOST_TEST(!fs::exists(mount.root() / "staging"));
  }
  CheckUnchanged(log, before);
  Mount mount(file);
  BOOST_TEST(ReadFile(mount.root() / "staging/new") == Pattern(40, 100000));
}

BOOST_AUTO_TEST_CASE(a_torn_or_corrupt_state_is_set_aside_with_a_log_line_never_dropped) {
  TempDir dir;
  fs::path file = MakeFile(dir);
  fs::path log = StateDir(file) / "log";
  std::map<std::string, std::string> want;
  uint64_t whole = 0;
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    WriteFile(staging / "first", Pattern(50, 70000));
    want = Observe(staging, true);
    int dfd = ::open(staging.c_str(), O_RDONLY | O_DIRECTORY);
    BOOST_TEST_REQUIRE(dfd >= 0);
    BOOST_TEST(::fsync(dfd) == 0);  // a sync mark: the log is whole up to here
    ::close(dfd);
    whole = fs::file_size(log);
    fs::create_directory(staging / "last");  // its record is the one torn below
  }
  // The record of the last change cut short, as a kill mid-write(2) leaves it.
  BOOST_TEST_REQUIRE(fs::file_size(log) > whole + 5);
  fs::resize_file(log, whole + 5);
  {
    Mount mount(file);
    CheckSame(want, Observe(mount.root() / "staging", true), "after a torn tail");
    std::string said = mount.Log();
    BOOST_TEST(said.find("recovered up to the last whole change") != std::string::npos, said);
  }
  // A header that does not check out: nothing is replayed, everything is kept.
  // Its first byte (of the record's CRC) is flipped: set to a constant, it
  // would already be that value once in 256 runs, and nothing would change.
  {
    std::fstream io(log, std::ios::in | std::ios::out | std::ios::binary);
    char first = 0;
    BOOST_TEST_REQUIRE(static_cast<bool>(io.get(first)));
    io.seekp(0);
    io.put(static_cast<char>(~first));
  }
  std::string broken_log = ReadFile(log);
  Mount mount(file);
  std::string said = mount.Log();
  BOOST_TEST(said.find("cannot be used") != std::string::npos, said);
  CheckSame(Observe(mount.root() / "versions/v1"), Observe(mount.root() / "staging"),
            "after a corrupt state");
  std::vector<fs::path> aside;
  for (const auto& e : fs::directory_iterator(dir.path()))
    if (e.path().filename().string().find(".vh5-staging.broken-") != std::string::npos)
      aside.push_back(e.path());
  BOOST_TEST_REQUIRE(aside.size() == 1u);
  BOOST_TEST(said.find(aside[0].string()) != std::string::npos, said);
  BOOST_TEST((ReadFile(aside[0] / "log") == broken_log));
  BOOST_TEST(fs::exists(aside[0] / "pages"));
}

BOOST_AUTO_TEST_CASE(a_base_deleted_offline_sets_the_state_aside_with_a_clear_message) {
  TempDir dir;
  fs::path file = MakeFile(dir);
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    WriteFile(staging / "more", Pattern(60, 1000));
    fs::rename(staging, mount.root() / "versions/v2");
    SetX(staging, "user.vh5.prev_version", "v1");
    WriteFile(staging / "on-v1", Pattern(61, 1000));
  }
  CommandResult deleted = Run({Vh5Binary(), "delete", file.string(), "v1"});
  BOOST_TEST_REQUIRE(deleted.exit_status == 0, deleted.err);
  BOOST_TEST(deleted.out.find("are based on v1") != std::string::npos, deleted.out);
  Mount mount(file);
  std::string said = mount.Log();
  BOOST_TEST(said.find("its base version v1 is no longer in") != std::string::npos, said);
  fs::path staging = mount.root() / "staging";
  BOOST_TEST(GetXattr(staging, "user.vh5.prev_version").value_or("") == "v2");
  BOOST_TEST(!fs::exists(staging / "on-v1"));
  BOOST_TEST(!fs::exists(StateDir(file)));
  int aside = 0;
  for (const auto& e : fs::directory_iterator(dir.path()))
    aside += e.path().filename().string().find(".vh5-staging.broken-") != std::string::npos &&
             fs::exists(e.path() / "log") && fs::exists(e.path() / "pages");
  BOOST_TEST(aside == 1);
}

BOOST_AUTO_TEST_CASE(offline_tools_work_beside_a_pending_state_and_repack_keeps_it) {
  TempDir dir;
  fs::path file = MakeFile(dir);
  std::map<std::string, std::string> want;
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    WriteAt(staging / "grid", 8 * 8 * 50, Pattern(70, 8 * 8), true);
    WriteFile(staging / "new", Pattern(71, 200000));
    fs::remove(staging / "old");
    want = Observe(staging, true);
  }
  BOOST_TEST_REQUIRE(fs::exists(StateDir(file) / "log"));
  for (const char* command : {"verify", "log", "ls"}) {
    CommandResult r = Run({Vh5Binary(), command, file.string()});
    BOOST_TEST(r.exit_status == 0, command << ": " << r.err);
  }
  // The state names versions and paths, never places in the file: a repack
  // (versions copied whole) leaves it valid.
  Sh({Vh5Binary(), "repack", file.string()});
  BOOST_TEST(fs::exists(StateDir(file) / "log"));
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    CheckSame(want, Observe(staging, true), "after vh5 repack");
    BOOST_TEST(mount.Log().empty(), mount.Log());
    fs::rename(staging, mount.root() / "versions/v2");
    std::map<std::string, std::string> committed = Observe(mount.root() / "versions/v2");
    for (const auto& [key, value] : want)
      if (key.rfind("./user.vh5.", 0) != 0) BOOST_TEST(committed[key] == value, "v2: " << key);
  }
  VerifyClean(file);
}

BOOST_AUTO_TEST_SUITE_END()
