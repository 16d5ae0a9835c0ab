// Commits killed at every kind of instant: in HDF5's writes, in the
// journal's writes and fsyncs, in the writes in place, at the unlink. After
// each kill the file must open (the next open rolls back), every earlier
// version must read exactly as before, and the new version must be absent or
// whole; h5py must read what vh5fs reads.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "format/file_layout.h"
#include "journal/journal.h"
#include "test_util.h"
#include "util/crash_point.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

using namespace vh5test;

namespace {

std::string Elements(size_t n, uint64_t seed, size_t itemsize) {
  std::string out(n * itemsize, '\0');
  for (char& c : out) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>(seed >> 56);
  }
  return out;
}

vh5::NewDataset Make(std::string path, std::string dtype, std::vector<uint64_t> shape,
                     std::vector<uint64_t> chunks, std::string data, std::string compression) {
  vh5::NewDataset d =
      MakeDataset(std::move(path), std::move(dtype), std::move(shape), std::move(chunks));
  d.data = std::move(data);
  d.compression = std::move(compression);
  return d;
}

// Two versions with raw_data in several chunk B-tree nodes, compression,
// strings, groups and attributes: most of what a commit touches in place.
vh5::NewVersion Version(const std::string& name, uint64_t seed) {
  vh5::NewVersion v;
  v.name = name;
  v.groups = {{"g", {{"note", "version " + name, ""}}}};
  v.datasets.push_back(Make("g/values", "<f8", {20000}, {250}, Elements(20000, seed, 8), "none"));
  v.datasets.push_back(
      Make("grid", "<i4", {300, 40}, {64, 16}, Elements(12000, seed + 1, 4), "gzip:4,shuffle"));
  vh5::NewDataset names;
  names.path = "names";
  names.dtype = "vlen-str";
  names.shape = {50};
  names.chunks = {16};
  for (int i = 0; i < 50; ++i) names.strings.push_back(name + "-" + std::to_string(i * seed % 97));
  v.datasets.push_back(names);
  return v;
}

// Every dataset of every version, as the engine reads it.
std::map<std::string, std::string> Contents(const fs::path& file) {
  std::map<std::string, std::string> out;
  auto f = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  for (const vh5::VersionInfo& info : (*f)->ListVersions()) {
    auto v = (*f)->GetVersion(info.name);
    BOOST_REQUIRE_MESSAGE(v.ok(), v.status().ToString());
    for (const char* path : {"g/values", "grid", "names"}) {
      auto d = (*v)->OpenDataset(path);
      BOOST_REQUIRE_MESSAGE(d.ok(), d.status().ToString());
      std::string bytes((*d)->size(), '\0');
      auto n = (*d)->Read(0, bytes.size(), bytes.data());
      BOOST_REQUIRE_MESSAGE(n.ok(), n.status().ToString());
      out[info.name + "/" + path] = Sha256Hex(bytes);
    }
  }
  return out;
}

// A versioned file in `dir` holding Version("v1", 3) and Version("v2", 5).
fs::path BaseWithTwoVersions(const fs::path& dir) {
  fs::path base = dir / "base.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(base.string()).ok());
  BOOST_TEST_REQUIRE(vh5::CommitVersion(base.string(), Version("v1", 3)).ok());
  BOOST_TEST_REQUIRE(vh5::CommitVersion(base.string(), Version("v2", 5)).ok());
  return base;
}

// Where to kill a commit of `steps` steps: every step of the journal's own
// work, and `spread` of HDF5's writes spread evenly.
std::set<int> KillPoints(int steps, int spread) {
  std::set<int> points;
  for (int s = std::max(1, steps - 14); s <= steps; ++s) points.insert(s);
  for (int i = 0; i < spread; ++i) points.insert(1 + i * (steps - 15) / spread);
  return points;
}

// How many descriptors this process has open.
size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Whether this process has a child, running or not yet reaped.
bool HasChild() {
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// The processes whose parent is this one.
std::vector<pid_t> Children() {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(entry.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid()) out.push_back(std::stoi(name));
  }
  return out;
}

// Runs `commit` in a child that dies at `step` (0: never) as `scope` says;
// its exit status.
int CommitInChild(int step, const std::function<vh5::Status()>& commit,
                  vh5::crash::Scope scope = vh5::crash::Scope::kPowerLoss) {
  return ExitStatusInChild([&] {
    vh5::Transaction::CrashAtStepForTesting(step, scope);
    return commit().ok() ? 0 : 1;
  });
}

// Whether `file` could be locked shared, as h5py does to read it, within
// `seconds`: no one (a death guard) holds it exclusively any more.
bool LockableWithin(const fs::path& file, int seconds) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  bool locked = false;
  while (!(locked = ::flock(fd, LOCK_SH | LOCK_NB) == 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::close(fd);
  return locked;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash)

BOOST_AUTO_TEST_CASE(a_commit_killed_at_any_step_leaves_every_version_whole) {
  TempDir dir;
  fs::path base = BaseWithTwoVersions(dir.path());
  std::map<std::string, std::string> before = Contents(base);
  vh5::NewVersion next = Version("v3", 7);
  next.groups.push_back({"added", {{"k", "3", "<i8"}}});

  // The commit once, whole: how many steps it takes, and what v3 reads as.
  fs::path whole = dir.path() / "whole.h5";
  fs::copy_file(base, whole);
  BOOST_TEST_REQUIRE(vh5::CommitVersion(whole.string(), next).ok());
  int steps = vh5::Transaction::LastStepsForTesting();
  std::map<std::string, std::string> after = Contents(whole);
  BOOST_TEST_MESSAGE("a commit of v3 takes " << steps << " steps");
  BOOST_TEST_REQUIRE(steps > 20);

  std::set<int> points = KillPoints(steps, 26);
  int kills = 0, absent = 0, present = 0;
  for (int step : points) {
    BOOST_TEST_CONTEXT("killed at step " << step << " of " << steps) {
      fs::path file = dir.path() / ("killed-" + std::to_string(step) + ".h5");
      fs::copy_file(base, file);
      int exit = CommitInChild(step, [&] { return vh5::CommitVersion(file.string(), next); });
      BOOST_TEST_REQUIRE(exit == 99);
      ++kills;
      // Opening rolls back what the journal holds; the journal goes.
      std::map<std::string, std::string> now = Contents(file);
      BOOST_TEST(!fs::exists(vh5::layout::JournalPath(file.string())));
      for (const auto& [path, sha] : before) BOOST_TEST(now[path] == sha, path);
      bool has_v3 = now.count("v3/grid") > 0;
      (has_v3 ? present : absent) += 1;
      if (has_v3)
        for (const auto& [path, sha] : after) BOOST_TEST(now[path] == sha, path);
      BOOST_TEST(now.size() == (has_v3 ? after.size() : before.size()));
      // h5py, independent of the engine, reads the same versions, and vh5
      // verify finds the file sound; then a commit goes on top.
      if (kills % 3 == 0 || has_v3) {
        VerifyClean(file);
        boost::property_tree::ptree oracle = H5pyOracle(file);
        BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
        for (const auto& [path, sha] : now) {
          std::string version = path.substr(0, path.find('/'));
          std::string dataset = path.substr(path.find('/') + 1);
          if (dataset == "names") continue;  // the oracle hashes strings in line form too
          BOOST_TEST(At(At(At(oracle.get_child("versions"), version), "datasets"), dataset)
                             .get<std::string>("sha256") == sha,
                     path);
        }
        vh5::NewVersion more = Version("v4", 11);
        BOOST_TEST(vh5::CommitVersion(file.string(), more).ok());
      }
      fs::remove(file);
    }
  }
  BOOST_TEST_MESSAGE(kills << " kills: v3 absent after " << absent << ", whole after " << present);
  BOOST_TEST(kills >= 40);
  BOOST_TEST(absent > 0);
  BOOST_TEST(present > 0);  // killed after the journal went: the commit stands
}

BOOST_AUTO_TEST_CASE(a_torn_journal_tail_is_ignored_and_the_file_is_the_base) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), Version("v1", 3)).ok());
  std::string original = ReadFile(file);
  // Writes held over the base and past it, then a kill after the journal's
  // records were written but before their fsync (steps: 2 writes, the
  // journal write; step 4 is its fsync).
  int exit = CommitInChild(4, [&] {
    auto txn = vh5::Transaction::Begin(file.string());
    if (!txn.ok()) return txn.status();
    std::string junk(5000, 'x');
    VH5_RETURN_IF_ERROR((*txn)->Write(100, junk.data(), junk.size()));
    VH5_RETURN_IF_ERROR((*txn)->Write(original.size() + 10, junk.data(), junk.size()));
    std::string seen(200, '\0');
    VH5_RETURN_IF_ERROR((*txn)->Read(0, seen.size(), seen.data()));
    if (seen.substr(100) != junk.substr(0, 100)) return vh5::Status::Corruption("not seen");
    if (ReadFile(file).substr(0, original.size()) != original)
      return vh5::Status::Corruption("the base was touched before the commit");
    return (*txn)->Apply();
  });
  BOOST_TEST_REQUIRE(exit == 99);
  fs::path journal = vh5::layout::JournalPath(file.string());
  BOOST_TEST_REQUIRE(fs::exists(journal));
  BOOST_TEST(fs::file_size(file) > original.size());  // the write past the base landed
  // A torn tail: the last record cut short, as a crash before the fsync may leave it.
  fs::resize_file(journal, fs::file_size(journal) - 7);
  bool recovered = false;
  BOOST_TEST_REQUIRE(vh5::Transaction::Recover(file.string(), &recovered).ok());
  BOOST_TEST(recovered);
  BOOST_TEST(!fs::exists(journal));
  BOOST_TEST((ReadFile(file) == original));
}

// A commit whose process alone dies (SIGKILL; its death guard lives on) at
// steps from HDF5's first write to the journal's unlink. By the time anyone
// else can lock FILE, with no vh5 code run on it, the guard has rolled it
// back: the journal is gone, FILE is byte for byte what it was (or, killed
// after the unlink, holds the commit), and h5py reads every earlier version
// exactly.
BOOST_AUTO_TEST_CASE(a_commit_whose_process_alone_dies_is_rolled_back_before_the_lock_is_free) {
  TempDir dir;
  fs::path base = BaseWithTwoVersions(dir.path());
  std::string base_bytes = ReadFile(base);
  boost::property_tree::ptree before = H5pyOracle(base).get_child("versions");
  vh5::NewVersion next = Version("v3", 7);

  fs::path whole = dir.path() / "whole.h5";
  fs::copy_file(base, whole);
  BOOST_TEST_REQUIRE(vh5::CommitVersion(whole.string(), next).ok());
  int steps = vh5::Transaction::LastStepsForTesting();
  BOOST_TEST_REQUIRE(steps > 20);

  std::set<int> points = KillPoints(steps, 8);
  int committed = 0;
  for (int step : points) {
    BOOST_TEST_CONTEXT("killed at step " << step << " of " << steps) {
      fs::path file = dir.path() / ("killed-" + std::to_string(step) + ".h5");
      fs::copy_file(base, file);
      int exit = CommitInChild(
          step, [&] { return vh5::CommitVersion(file.string(), next); },
          vh5::crash::Scope::kProcessOnly);
      BOOST_TEST_REQUIRE(exit == 99);
      BOOST_TEST_REQUIRE(LockableWithin(file, 10));
      BOOST_TEST(!fs::exists(vh5::layout::JournalPath(file.string())));
      // Only a kill after the unlink (the last step, the directory's fsync)
      // leaves the commit; any other leaves the base, byte for byte.
      bool has_v3 = ReadFile(file) != base_bytes;
      BOOST_TEST(has_v3 == (step == steps));
      committed += has_v3;
      boost::property_tree::ptree now = H5pyOracle(file).get_child("versions");
      for (const auto& [name, version] : before)
        BOOST_TEST((At(now, name) == version), "version " << name);
      BOOST_TEST(now.size() == before.size() + (has_v3 ? 1 : 0));
      fs::remove(file);
    }
  }
  BOOST_TEST_MESSAGE(points.size() << " kills of the process alone; v3 whole after " << committed);
}

// The guard is vh5-guard spawned, not a fork holding a copy of the caller's
// memory (whose page tables a fork copies on every commit); it keeps FILE's
// descriptors and its socket, nothing else.
BOOST_AUTO_TEST_CASE(the_guard_is_a_new_image_that_keeps_only_the_file_and_its_socket) {
  TempDir dir;
  fs::path file = BaseWithTwoVersions(dir.path());
  struct stat file_st {};
  BOOST_TEST_REQUIRE(::stat(file.c_str(), &file_st) == 0);
  auto txn = vh5::Transaction::Begin(file.string());
  BOOST_TEST_REQUIRE(txn.ok());
  std::vector<pid_t> children = Children();
  BOOST_TEST_REQUIRE(children.size() == 1u);
  fs::path proc = fs::path("/proc") / std::to_string(children[0]);
  std::string cmdline = ReadFile(proc / "cmdline");
  BOOST_TEST(cmdline.substr(0, cmdline.find('\0')) == "vh5-death-guard");
  // The small vh5-guard as built, not this test's own image.
  BOOST_TEST(fs::read_symlink(proc / "exe").filename() == "vh5-guard");
  // It closes what it inherited by mistake once it runs: wait for that.
  size_t others = 0, of_file = 0;
  for (int tries = 0; tries < 500; ++tries) {
    others = of_file = 0;
    for (const auto& entry : fs::directory_iterator(proc / "fd")) {
      struct stat st {};
      if (::stat(entry.path().c_str(), &st) != 0) continue;
      bool is_file = st.st_dev == file_st.st_dev && st.st_ino == file_st.st_ino;
      (is_file ? of_file : others) += 1;
    }
    if (others <= 1) break;  // the socket
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_TEST(others == 1u);
  BOOST_TEST(of_file >= 1u);
  BOOST_TEST((*txn)->Abort().ok());
  BOOST_TEST(Children().empty());
}

// Every way a transaction ends (applied, aborted, dropped open) reaps its
// death guard and leaves no descriptor behind.
BOOST_AUTO_TEST_CASE(a_transaction_leaves_no_guard_and_no_descriptor_behind) {
  TempDir dir;
  fs::path file = BaseWithTwoVersions(dir.path());
  std::string original = ReadFile(file);
  size_t descriptors = OpenDescriptors();
  BOOST_TEST_REQUIRE(!HasChild());
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), Version("v3", 7)).ok());
  BOOST_TEST(!HasChild());
  BOOST_TEST(OpenDescriptors() == descriptors);
  original = ReadFile(file);
  for (bool abort : {true, false}) {
    BOOST_TEST_CONTEXT((abort ? "aborted" : "dropped open")) {
      {
        auto txn = vh5::Transaction::Begin(file.string());
        BOOST_TEST_REQUIRE(txn.ok());
        BOOST_TEST(HasChild());  // the guard
        std::string junk(5000, 'x');
        BOOST_TEST((*txn)->Write(100, junk.data(), junk.size()).ok());
        BOOST_TEST((*txn)->Write(original.size(), junk.data(), junk.size()).ok());
        if (abort) BOOST_TEST((*txn)->Abort().ok());
        if (abort) BOOST_TEST(!HasChild());
      }
      BOOST_TEST(!HasChild());
      BOOST_TEST(OpenDescriptors() == descriptors);
      BOOST_TEST(!fs::exists(vh5::layout::JournalPath(file.string())));
      BOOST_TEST((ReadFile(file) == original));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
