// What keeps a user's history safe besides the journal: a full disk during
// a commit, readers during commits, and other writers kept out.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "test_util.h"

using namespace vh5test;

namespace {

std::string Pattern(size_t bytes, uint64_t seed) {
  std::string out(bytes, '\0');
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

int RenameErrno(const fs::path& from, const fs::path& to) {
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_safety)

BOOST_AUTO_TEST_CASE(a_full_disk_fails_the_commit_and_a_later_one_succeeds) {
  SmallDisk disk(64);
  fs::path file = disk.path() / "f.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  // Ballast to free later; the staged 24 MiB fit, but not twice.
  WriteFile(disk.path() / "ballast", std::string(16 << 20, 'b'));
  std::string big = Pattern(24 << 20, 7);
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    std::map<std::string, std::string> versions = AllContents(mount.root() / "versions");
    WriteFile(staging / "big", big);
    BOOST_TEST_REQUIRE(::setxattr((staging / "big").c_str(), "user.vh5.dtype", "<u8", 3, 0) == 0);
    std::map<std::string, std::string> staged = AllContents(staging);
    uint64_t size_before = fs::file_size(file);

    BOOST_TEST(RenameErrno(staging, mount.root() / "versions/next") == ENOSPC);
    // Nothing changed: not the versions, not staging, not the file.
    BOOST_TEST((AllContents(mount.root() / "versions") == versions));
    BOOST_TEST((AllContents(staging) == staged));
    BOOST_TEST(fs::file_size(file) == size_before);
    BOOST_TEST(!fs::exists(disk.path() / ".f.h5.vh5-journal"));

    fs::remove(disk.path() / "ballast");
    BOOST_TEST_REQUIRE(RenameErrno(staging, mount.root() / "versions/next") == 0);
    BOOST_TEST((ReadFile(mount.root() / "versions/next/big") == big));
  }
  // h5py reads beside read-only mounts only (the read-write one holds its lock).
  boost::property_tree::ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  BOOST_TEST(At(At(At(oracle.get_child("versions"), "next"), "datasets"), "big")
                 .get<std::string>("sha256") == Sha256Hex(big));
}

BOOST_AUTO_TEST_CASE(eight_readers_see_every_version_exactly_while_commits_go_on) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  {
    Mount mount(file);
    fs::path versions = mount.root() / "versions", staging = mount.root() / "staging";
    std::mutex mu;
    std::map<std::string, std::map<std::string, std::string>> expected;  // guarded by mu
    for (const auto& e : fs::directory_iterator(versions))
      expected[e.path().filename()] = AllContents(e.path());

    std::atomic<bool> done{false};
    std::atomic<uint64_t> reads{0}, wrong{0}, errors{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 8; ++r) {
      readers.emplace_back([&, r] {
        std::mt19937 rng(r);
        while (!done) {
          std::vector<std::string> names;
          {
            std::lock_guard<std::mutex> lock(mu);
            for (const auto& [name, tree] : expected) names.push_back(name);
          }
          const std::string& name = names[rng() % names.size()];
          try {
            std::map<std::string, std::string> seen = AllContents(versions / name);
            std::lock_guard<std::mutex> lock(mu);
            if (seen != expected[name]) ++wrong;
          } catch (const std::exception&) {
            ++errors;
          }
          ++reads;
        }
      });
    }
    // The writer: ten commits, each changing a chunk, adding a dataset and a group.
    for (int c = 0; c < 10; ++c) {
      std::string name = "c" + std::to_string(c);
      int fd = ::open((staging / "prices").c_str(), O_WRONLY);
      BOOST_TEST_REQUIRE(fd >= 0);
      double v = c;
      BOOST_TEST(::pwrite(fd, &v, 8, 8 * (c * 1000 % 50000)) == 8);
      ::close(fd);
      WriteFile(staging / ("new" + std::to_string(c)), Pattern(1 << 20, c));
      fs::create_directory(staging / ("group" + std::to_string(c)));
      std::map<std::string, std::string> staged = AllContents(staging);
      BOOST_TEST_REQUIRE(RenameErrno(staging, versions / name) == 0);
      std::lock_guard<std::mutex> lock(mu);
      expected[name] = staged;
    }
    done = true;
    for (std::thread& t : readers) t.join();
    BOOST_TEST_MESSAGE(reads << " version walks by 8 readers during 10 commits");
    BOOST_TEST(wrong == 0u);
    BOOST_TEST(errors == 0u);
    BOOST_TEST(reads > 80u);
    for (const auto& [name, tree] : expected)
      BOOST_TEST((AllContents(versions / name) == tree), name);
  }
  VerifyClean(file);
}

// The file stays shared while mounted (doc/sharing.md): no mount holds a
// lock between commits, so other mounts, h5py readers and writers, and vh5
// all go on beside it.
BOOST_AUTO_TEST_CASE(a_mounted_file_stays_shared_with_other_readers_and_writers) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  auto h5py_open = [&](const char* mode) {
    return Run({"/usr/bin/python3", "-c",
                std::string("import h5py, sys; h5py.File(sys.argv[1], '") + mode + "').close()",
                file.string()})
        .exit_status;
  };
  // The flock and POSIX lock lines of /proc/locks that `pid` holds on FILE
  // (its staging state's lock file is another file).
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(file.c_str(), &st) == 0);
  std::string inode = ":" + std::to_string(st.st_ino);
  auto locks_of = [&](pid_t pid) {
    std::ifstream in("/proc/locks");
    std::string line, held;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string id, kind, mode, access, owner, device;
      fields >> id >> kind >> mode >> access >> owner >> device;
      bool on_file = device.size() > inode.size() &&
                     device.compare(device.size() - inode.size(), inode.size(), inode) == 0;
      if ((kind == "FLOCK" || kind == "POSIX") && owner == std::to_string(pid) && on_file)
        held += line + "\n";
    }
    return held;
  };
  {
    Mount rw(file);
    Mount ro(file, {"-o", "ro"});
    Mount other_rw(file);
    for (pid_t pid : {rw.pid(), ro.pid(), other_rw.pid()})
      BOOST_TEST(locks_of(pid).empty(), locks_of(pid));
    BOOST_TEST(h5py_open("r") == 0);
    BOOST_TEST(h5py_open("r+") == 0);
    CommandResult set = Run({Vh5Binary(), "set-current", file.string(), "v1", "--wait", "5"});
    BOOST_TEST(set.exit_status == 0, set.err);
    std::error_code ec;
    bool followed = false;
    for (int i = 0; i < 200 && !followed; ++i, usleep(10000))
      followed = fs::read_symlink(ro.root() / "current", ec) == "versions/v1";
    BOOST_TEST(followed);
    for (pid_t pid : {rw.pid(), ro.pid(), other_rw.pid()})
      BOOST_TEST(locks_of(pid).empty(), locks_of(pid));
  }
  BOOST_TEST(h5py_open("r+") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
