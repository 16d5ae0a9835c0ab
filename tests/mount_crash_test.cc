// vh5fs itself killed in the middle of `mv staging versions/NAME`: at chosen
// steps of the commit's transaction and with SIGKILL at random instants. The
// next mount must show every earlier version exactly, and the new one whole
// or not at all; h5py must agree.
#include <fcntl.h>
#include <signal.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include "format/file_layout.h"
#include "test_util.h"

using namespace vh5test;
using namespace std::chrono_literals;

namespace {

// What the test stages: a changed element, a 32 MiB new dataset (so that a
// commit takes long enough to be killed at random inside it), a group, a
// removal and an attribute.
void StageChanges(const fs::path& staging) {
  {
    int fd = ::open((staging / "prices").c_str(), O_WRONLY);
    BOOST_REQUIRE(fd >= 0);
    double v = -12.5;
    BOOST_REQUIRE(::pwrite(fd, &v, 8, 8 * 7) == 8);
    BOOST_REQUIRE(::close(fd) == 0);
  }
  fs::path big = staging / "big";
  std::string block(1 << 20, '\0');
  std::mt19937_64 rng(1);
  {
    std::string data;
    for (int i = 0; i < 32; ++i) {
      for (size_t j = 0; j < block.size(); j += 8) {
        uint64_t v = rng();
        std::memcpy(block.data() + j, &v, 8);
      }
      data += block;
    }
    WriteFile(big, data);
  }
  BOOST_REQUIRE(::setxattr(big.c_str(), "user.vh5.dtype", "<u8", 3, 0) == 0);
  fs::create_directory(staging / "added");
  BOOST_REQUIRE(::setxattr((staging / "added").c_str(), "user.h5.note", "new", 3, 0) == 0);
  fs::remove(staging / "names");
}

struct Outcome {
  bool killed = false;
  std::map<std::string, std::string> versions;  // what the next mount shows
};

// Mounts a copy of `base`, stages the changes and commits as "next"; the
// daemon dies at `step` (> 0) or `delay` after the rename starts (>= 0 us).
Outcome CommitAndKill(const fs::path& base, const fs::path& file, int step, int delay_us) {
  fs::copy_file(base, file, fs::copy_options::overwrite_existing);
  Outcome out;
  {
    if (step > 0) ::setenv("VH5_TEST_CRASH_AT_STEP", std::to_string(step).c_str(), 1);
    Mount mount(file, {}, CrashableVh5fsBinary());
    ::unsetenv("VH5_TEST_CRASH_AT_STEP");
    StageChanges(mount.root() / "staging");
    std::thread killer;
    if (delay_us >= 0) {
      pid_t pid = mount.pid();
      killer = std::thread([pid, delay_us] {
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        ::kill(pid, SIGKILL);
      });
    }
    int rc = ::rename((mount.root() / "staging").c_str(), (mount.root() / "versions/next").c_str());
    if (killer.joinable()) killer.join();
    // Give a dying daemon a moment to be reaped.
    for (int i = 0; i < 200 && mount.Ended().empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::string ended = mount.Ended();
    out.killed = !ended.empty();
    if (!out.killed) BOOST_TEST(rc == 0);  // the kill came after the commit
  }
  // The next mount rolls back whatever the journal holds.
  Mount again(file, {"-o", "ro"});
  out.versions = AllContents(again.root() / "versions");
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_crash)

BOOST_AUTO_TEST_CASE(killing_vh5fs_during_a_commit_loses_no_version) {
  TempDir dir;
  fs::path base = dir.path() / "base.h5";
  Sh({Vh5Binary(), "demo", base.string()});
  std::map<std::string, std::string> before;
  {
    Mount mount(base, {"-o", "ro"});
    before = AllContents(mount.root() / "versions");
  }
  // The commit once, whole.
  Outcome whole = CommitAndKill(base, dir.path() / "whole.h5", 0, -1);
  BOOST_TEST_REQUIRE(!whole.killed);
  std::map<std::string, std::string> after = whole.versions;
  BOOST_TEST_REQUIRE(after.size() > before.size());

  std::mt19937 rng(12345);
  std::vector<std::pair<int, int>> kills;  // (step, delay in us)
  for (int step : {1, 2, 3, 5, 8, 13, 21, 40, 80, 120, 200, 400}) kills.push_back({step, -1});
  for (int i = 0; i < 12; ++i) kills.push_back({0, static_cast<int>(rng() % 400000)});
  int killed = 0, absent = 0, present = 0;
  for (auto [step, delay] : kills) {
    BOOST_TEST_CONTEXT("step " << step << ", delay " << delay << " us") {
      fs::path file = dir.path() / "killed.h5";
      Outcome o = CommitAndKill(base, file, step, delay);
      killed += o.killed;
      bool has_next = o.versions.count("next") > 0;
      (has_next ? present : absent) += 1;
      // Every earlier version exact; the new one whole or absent.
      for (const auto& [path, sha] : before) BOOST_TEST(o.versions[path] == sha, path);
      if (has_next) {
        BOOST_TEST((o.versions == after));
      } else {
        BOOST_TEST((o.versions == before));
      }
      boost::property_tree::ptree oracle = H5pyOracle(file);
      BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
      BOOST_TEST(oracle.get_child("versions").count("next") == (has_next ? 1u : 0u));
      VerifyClean(file);
    }
  }
  BOOST_TEST_MESSAGE(killed << " of " << kills.size() << " commits killed; next absent after "
                            << absent << ", whole after " << present);
  BOOST_TEST(killed >= 20);
}

// vh5fs SIGKILLed while `mv staging versions/next` commits, and h5py at the
// file at once, with no vh5fs or vh5 run in between: it waits while the
// commit's death guard holds the lock, then finds every earlier version
// exactly, and the file byte for byte as it was unless `next` is whole.
BOOST_AUTO_TEST_CASE(h5py_right_after_a_killed_commit_reads_every_earlier_version) {
  TempDir dir;
  fs::path base = dir.path() / "base.h5";
  Sh({Vh5Binary(), "demo", base.string()});
  std::string base_bytes = ReadFile(base);
  boost::property_tree::ptree before = H5pyOracle(base).get_child("versions");
  fs::path file = dir.path() / "killed.h5";
  int kills = 0, whole_after = 0;
  // Commits as "next", killing vh5fs `delay` after the rename starts (never
  // when negative); how long the rename took.
  auto commit = [&](std::chrono::microseconds delay) {
    fs::copy_file(base, file, fs::copy_options::overwrite_existing);
    Mount mount(file);
    StageChanges(mount.root() / "staging");
    auto start = std::chrono::steady_clock::now();
    int rc = -1;
    std::jthread rename([&] {
      rc = ::rename((mount.root() / "staging").c_str(), (mount.root() / "versions/next").c_str());
    });
    if (delay.count() < 0) {
      rename.join();
      BOOST_TEST(rc == 0);
    } else {
      std::this_thread::sleep_for(delay);
      ::kill(mount.pid(), SIGKILL);
      for (int i = 0; i < 200 && mount.Ended().empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      BOOST_TEST(!mount.Ended().empty());
      // At once, before the mount comes down: h5py, as a user would run it.
      Isolated([&] {
        boost::property_tree::ptree now = H5pyOracle(file, 10).get_child("versions");
        for (const auto& [name, version] : before)
          BOOST_TEST((At(now, name) == version), "version " << name);
        bool has_next = now.count("next") > 0;
        ++kills;
        whole_after += has_next;
        BOOST_TEST(now.size() == before.size() + (has_next ? 1 : 0));
        BOOST_TEST(!fs::exists(vh5::layout::JournalPath(file.string())));
        if (!has_next) BOOST_TEST((ReadFile(file) == base_bytes));
      });
    }
    if (rename.joinable()) rename.join();
    return std::chrono::steady_clock::now() - start;
  };
  auto whole = std::chrono::duration_cast<std::chrono::microseconds>(commit(-1us));
  BOOST_TEST_MESSAGE("the commit takes " << whole.count() << " us");
  for (int percent : {5, 20, 35, 50, 65, 80, 95})
    BOOST_TEST_CONTEXT("killed " << percent << "% into the commit") {
      commit(whole * percent / 100);
    }
  BOOST_TEST_MESSAGE(kills << " kills; next whole after " << whole_after);
  BOOST_TEST(kills == 7);
}

BOOST_AUTO_TEST_SUITE_END()
