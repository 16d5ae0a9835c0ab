// staging/ through a real mount: shell tools build versions, rename commits
// them, and h5py (the independent reader) finds what they wrote.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <chrono>
#include <cstring>
#include <thread>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <set>
#include <sstream>

#include "manifest.h"
#include "test_util.h"

using namespace vh5test;
using boost::property_tree::ptree;

namespace {

// Built with ASan or TSan, as vh5fs is: GCC says so by macro, clang by __has_feature.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Every xattr of every node under `root`, by relative path.
std::map<std::string, std::map<std::string, std::string>> AllXattrs(const fs::path& root) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    for (const std::string& name : ListXattrs(e.path()))
      out[rel][name] = GetXattr(e.path(), name).value_or("<gone>");
  }
  return out;
}

void EmptyStaging(const fs::path& staging) {
  SetX(staging, "user.vh5.discard", "1");
  for (const auto& e : fs::directory_iterator(staging)) fs::remove_all(e.path());
}

int RenameErrno(const fs::path& from, const fs::path& to) {
  errno = 0;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

// Bytes no two blocks share: splitmix64 of each 8-byte word's index.
void Pattern(uint64_t offset, std::string* out) {
  for (size_t i = 0; i < out->size(); i += 8) {
    uint64_t z = (offset + i) / 8 + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(out->data() + i, &z, 8);
  }
}

std::string Pread(int fd, size_t n, off_t offset = 0) {
  std::string out(n, '\0');
  ssize_t got = ::pread(fd, out.data(), n, offset);
  BOOST_REQUIRE(got >= 0);
  out.resize(static_cast<size_t>(got));
  return out;
}

void Pwrite(int fd, std::string_view data, off_t offset) {
  BOOST_REQUIRE(::pwrite(fd, data.data(), data.size(), offset) ==
                static_cast<ssize_t>(data.size()));
}

nlink_t Links(int fd) {
  struct stat st;
  BOOST_REQUIRE(::fstat(fd, &st) == 0);
  return st.st_nlink;
}

// Disk space `path` holds (punched-out pages hold none).
uint64_t AllocatedBytes(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

// Syncs staging/ (so that pages the log no longer names are freed) until
// `pages` holds less than `bytes`, for up to 10 s: the kernel forgets a
// closed, removed file's inode (and vh5fs lets it go) shortly after close.
bool PagesShrinkBelow(const fs::path& staging, const fs::path& pages, uint64_t bytes) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int dfd = ::open(staging.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    if (AllocatedBytes(pages) < bytes) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// The names one getdents64(2) call returns, up to `bytes` of records.
std::vector<std::string> Getdents(int dfd, size_t bytes) {
  std::vector<char> buf(bytes);
  long n = ::syscall(SYS_getdents64, dfd, buf.data(), buf.size());
  BOOST_REQUIRE(n >= 0);
  std::vector<std::string> names;
  for (long at = 0; at < n;) {
    // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
    uint16_t reclen;
    std::memcpy(&reclen, buf.data() + at + 16, 2);
    names.emplace_back(buf.data() + at + 19);
    at += reclen;
  }
  return names;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_write)

// POSIX: a descriptor open on a file that is unlinked or replaced keeps
// reading and writing that file, never the one now at its name; its data
// is gone once it is closed.
BOOST_AUTO_TEST_CASE(an_open_file_that_is_unlinked_and_made_again_keeps_its_own_content) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  // The case of the issue, as python3 does it.
  WriteFile(staging / "a", "old-content\n");
  ScopedFd fd(::open((staging / "a").c_str(), O_RDWR));
  BOOST_TEST_REQUIRE(fd.get() >= 0);
  BOOST_TEST_REQUIRE(::unlink((staging / "a").c_str()) == 0);
  WriteFile(staging / "a", "new-content\n");
  Pwrite(fd.get(), "XXX", 0);
  BOOST_TEST(ReadFile(staging / "a") == "new-content\n");
  BOOST_TEST(Pread(fd.get(), 100) == "XXX-content\n");
  BOOST_TEST(Links(fd.get()) == 0u);
  BOOST_TEST(fd.Close() == 0);
  BOOST_TEST(ReadFile(staging / "a") == "new-content\n");

  // A big one: its scratch pages are freed once it is closed.
  fs::path pages = vh5::Staging::StateDir(file.string()) + "/pages";
  std::string big(2 << 20, '\0');
  Pattern(0, &big);
  WriteFile(staging / "big", big);
  ScopedFd big_fd(::open((staging / "big").c_str(), O_RDWR));
  BOOST_TEST_REQUIRE(big_fd.get() >= 0);
  BOOST_TEST_REQUIRE(::unlink((staging / "big").c_str()) == 0);
  BOOST_TEST(!fs::exists(staging / "big"));
  Pwrite(big_fd.get(), std::string(1 << 20, 'x'), 1 << 20);  // fresh pages, its own
  BOOST_TEST((Pread(big_fd.get(), 1 << 20) == big.substr(0, 1 << 20)));
  BOOST_TEST((Pread(big_fd.get(), 1 << 20, 1 << 20) == std::string(1 << 20, 'x')));
  BOOST_TEST(AllocatedBytes(pages) >= (3u << 20));
  BOOST_TEST(big_fd.Close() == 0);
  BOOST_TEST(PagesShrinkBelow(staging, pages, 1 << 20), AllocatedBytes(pages) << " bytes of pages");
  // None of it is committed.
  BOOST_TEST_REQUIRE(RenameErrno(staging, mount.root() / "versions/v1") == 0);
  BOOST_TEST(ReadFile(mount.root() / "versions/v1/a") == "new-content\n");
  BOOST_TEST(!fs::exists(mount.root() / "versions/v1/big"));
}

BOOST_AUTO_TEST_CASE(an_open_file_replaced_by_a_rename_keeps_its_own_content) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  WriteFile(staging / "a", "old a\n");
  WriteFile(staging / "b", "b's content\n");
  ScopedFd fd(::open((staging / "a").c_str(), O_RDWR));
  BOOST_TEST_REQUIRE(fd.get() >= 0);
  ScopedFd fd_b(::open((staging / "b").c_str(), O_RDWR));
  BOOST_TEST_REQUIRE(fd_b.get() >= 0);
  BOOST_TEST_REQUIRE(RenameErrno(staging / "b", staging / "a") == 0);
  BOOST_TEST(Pread(fd.get(), 100) == "old a\n");
  BOOST_TEST(ReadFile(staging / "a") == "b's content\n");
  Pwrite(fd.get(), "O", 0);
  BOOST_TEST(Pread(fd.get(), 100) == "Old a\n");
  BOOST_TEST(ReadFile(staging / "a") == "b's content\n");
  BOOST_TEST(Links(fd.get()) == 0u);
  // b's descriptor follows b to its new name.
  Pwrite(fd_b.get(), "B", 0);
  BOOST_TEST(ReadFile(staging / "a") == "B's content\n");
  BOOST_TEST(Links(fd_b.get()) == 1u);
  BOOST_TEST(fd.Close() == 0);
  BOOST_TEST(fd_b.Close() == 0);
  BOOST_TEST(!fs::exists(staging / "b"));
  BOOST_TEST(ReadFile(staging / "a") == "B's content\n");
}

BOOST_AUTO_TEST_CASE(a_file_open_in_a_renamed_directory_keeps_working) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  fs::create_directory(staging / "d");
  WriteFile(staging / "d/f", "0123");
  ScopedFd fd(::open((staging / "d/f").c_str(), O_RDWR));
  BOOST_TEST_REQUIRE(fd.get() >= 0);
  ScopedFd dfd(::open((staging / "d").c_str(), O_RDONLY | O_DIRECTORY));
  BOOST_TEST_REQUIRE(dfd.get() >= 0);
  BOOST_TEST_REQUIRE(RenameErrno(staging / "d", staging / "e") == 0);
  Pwrite(fd.get(), "X", 0);
  BOOST_TEST(Pread(fd.get(), 10) == "X123");
  BOOST_TEST(ReadFile(staging / "e/f") == "X123");
  BOOST_TEST(Links(fd.get()) == 1u);
  // The directory's descriptor names it too: a file made through it is in e/.
  ScopedFd made(::openat(dfd.get(), "g", O_WRONLY | O_CREAT, 0644));
  BOOST_TEST_REQUIRE(made.get() >= 0);
  BOOST_TEST(::write(made.get(), "g", 1) == 1);
  BOOST_TEST(made.Close() == 0);
  BOOST_TEST(ReadFile(staging / "e/g") == "g");
  BOOST_TEST(!fs::exists(staging / "d"));
  BOOST_TEST(fd.Close() == 0);
  BOOST_TEST(dfd.Close() == 0);
}

BOOST_AUTO_TEST_CASE(a_directory_read_in_pieces_while_it_changes_lists_each_lasting_entry_once) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path many = mount.root() / "staging/many";
  fs::create_directory(many);
  for (int i = 0; i < 300; ++i) WriteFile(many / ("f" + std::to_string(1000 + i)), "");
  ScopedFd dfd(::open(many.c_str(), O_RDONLY | O_DIRECTORY));
  BOOST_TEST_REQUIRE(dfd.get() >= 0);
  std::map<std::string, int> seen;
  std::set<std::string> removed;
  for (int call = 0;; ++call) {
    // A few records per call: every call is a readdir request of its own.
    std::vector<std::string> names = Getdents(dfd.get(), 512);
    if (names.empty()) break;
    for (const std::string& name : names) ++seen[name];
    // Between calls: an entry already listed goes, one sorting first comes.
    std::string gone = names.front();
    if (gone != "." && gone != "..") {
      fs::remove(many / gone);
      removed.insert(gone);
    }
    WriteFile(many / ("a" + std::to_string(call)), "");
    BOOST_TEST_REQUIRE(call < 1000);
  }
  BOOST_TEST(dfd.Close() == 0);
  BOOST_TEST(removed.size() > 10u);  // the listing really took many calls
  for (int i = 0; i < 300; ++i) {
    std::string name = "f" + std::to_string(1000 + i);
    if (!removed.count(name)) BOOST_TEST(seen[name] == 1, name);
  }
  for (const auto& [name, count] : seen) BOOST_TEST(count == 1, name);
}

BOOST_AUTO_TEST_CASE(a_staging_file_is_never_read_from_a_stale_page_cache) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path s = mount.root() / "staging/s";
  WriteFile(s, "a\nb\n");
  SetX(s, "user.vh5.dtype", "vlen-str");
  ScopedFd fd(::open(s.c_str(), O_RDWR));
  BOOST_TEST_REQUIRE(fd.get() >= 0);
  BOOST_TEST(Pread(fd.get(), 100) == "a\nb\n");  // in the kernel's page cache now
  Pwrite(fd.get(), "x", 3);                      // the last line loses its newline
  // The kernel learns the attributes after the write (dropping what it
  // cached), then caches the written bytes again.
  struct stat st;
  BOOST_TEST(::fstat(fd.get(), &st) == 0);
  BOOST_TEST(Pread(fd.get(), 100) == "a\nbx");
  errno = 0;
  BOOST_TEST(fd.Close() == -1);  // refused: the content goes back to the last valid one
  BOOST_TEST(errno == EINVAL);
  // Same size, same mtime: only a cache dropped at open shows the rollback.
  BOOST_TEST(ReadFile(s) == "a\nb\n");
}

BOOST_AUTO_TEST_CASE(a_name_missing_in_a_version_is_cached_as_missing_not_in_staging) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  {
    Mount mount(file);
    WriteFile(mount.root() / "staging/x", "x");
    fs::create_directory(mount.root() / "staging/g");
    BOOST_TEST_REQUIRE(RenameErrno(mount.root() / "staging", mount.root() / "versions/v1") == 0);
  }
  Mount mount(file, {"-d"});  // logs every request
  auto lookups = [&mount] {
    std::string log = mount.Log();
    size_t n = 0;
    for (size_t at = log.find("opcode: LOOKUP"); at != std::string::npos;
         at = log.find("opcode: LOOKUP", at + 1))
      ++n;
    return n;
  };
  auto missing = [](const fs::path& path) {
    struct stat st;
    errno = 0;
    return ::stat(path.c_str(), &st) == -1 && errno == ENOENT;
  };
  fs::path v1 = mount.root() / "versions/v1";
  BOOST_TEST(missing(v1 / "nothing"));
  BOOST_TEST(missing(v1 / "g/nothing"));
  size_t before = lookups();
  BOOST_TEST_REQUIRE(before > 0u);
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(missing(v1 / "nothing"));
    BOOST_TEST(missing(v1 / "g/nothing"));
  }
  // Answered by the kernel: negative entries inside the version, and the
  // version's own name, kept until another process deletes the version
  // (name_invalidator.h).
  BOOST_TEST(lookups() == before);
  BOOST_TEST(ReadFile(v1 / "x") == "x");
  BOOST_TEST(fs::is_directory(v1 / "g"));
  // staging/ changes: a missing name there is asked again, and may appear.
  fs::path staging = mount.root() / "staging";
  BOOST_TEST(missing(staging / "later"));
  before = lookups();
  BOOST_TEST(missing(staging / "later"));
  BOOST_TEST(lookups() > before);
  WriteFile(staging / "later", "now");
  BOOST_TEST(ReadFile(staging / "later") == "now");
}

BOOST_AUTO_TEST_CASE(a_full_disk_fails_the_write_and_freed_space_is_reused) {
  SmallDisk disk(16);
  fs::path file = disk.path() / "small.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  std::string block(1 << 20, '\0');
  int fd = ::open((staging / "big").c_str(), O_WRONLY | O_CREAT, 0644);
  BOOST_TEST_REQUIRE(fd >= 0);
  uint64_t written = 0;
  int err = 0;
  for (int i = 0; i < 64 && err == 0; ++i) {
    Pattern(written, &block);
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n < 0) err = errno;
    if (n > 0) written += static_cast<uint64_t>(n);
  }
  ::close(fd);
  BOOST_TEST(err == ENOSPC);
  BOOST_TEST(written < (16u << 20));
  BOOST_TEST(fs::file_size(staging / "big") == written);
  // Removing the dataset gives its pages back: a new one fits and commits.
  fs::remove(staging / "big");
  Pattern(0, &block);
  WriteFile(staging / "small", block);
  BOOST_TEST_REQUIRE(RenameErrno(staging, mount.root() / "versions/v1") == 0);
  BOOST_TEST((ReadFile(mount.root() / "versions/v1/small") == block));
}

BOOST_AUTO_TEST_CASE(a_gib_written_into_staging_spills_to_disk_not_memory) {
  TempDir dir;
  fs::path file = dir.path() / "big.h5";
  Sh({Vh5Binary(), "init", file.string()});
  constexpr uint64_t kTotal = uint64_t{1} << 30, kBlock = 1 << 20;
  std::string block(kBlock, '\0');
  {
    Mount mount(file);
    uint64_t idle = PeakRssKiB(mount.pid());
    fs::path big = mount.root() / "staging/big";
    int fd = ::open(big.c_str(), O_WRONLY | O_CREAT, 0644);
    BOOST_TEST_REQUIRE(fd >= 0);
    for (uint64_t at = 0; at < kTotal; at += kBlock) {
      Pattern(at, &block);
      BOOST_TEST_REQUIRE(::pwrite(fd, block.data(), kBlock, static_cast<off_t>(at)) ==
                         static_cast<ssize_t>(kBlock));
    }
    BOOST_TEST_REQUIRE(::close(fd) == 0);
    SetX(big, "user.vh5.dtype", "<u8");
    uint64_t written = PeakRssKiB(mount.pid());
    BOOST_TEST_REQUIRE(RenameErrno(mount.root() / "staging", mount.root() / "versions/v1") == 0);
    uint64_t committed = PeakRssKiB(mount.pid());
    BOOST_TEST_MESSAGE("vh5fs peak RSS: idle " << idle / 1024 << " MiB, after writing 1 GiB "
                                               << written / 1024 << " MiB, after committing it "
                                               << committed / 1024 << " MiB");
    // Far below the GiB written (ASan's quarantine alone may hold 256 MiB;
    // TSan's shadow about triples the heap: 264 MiB after the commit).
    constexpr uint64_t kBoundKiB = kSanitized ? 640 << 10 : 256 << 10;
    BOOST_TEST(written < kBoundKiB);
    BOOST_TEST(committed < kBoundKiB);
  }
  Mount mount(file, {"-o", "ro"});
  fs::path big = mount.root() / "versions/v1/big";
  BOOST_TEST_REQUIRE(fs::file_size(big) == kTotal);
  BOOST_TEST(GetXattr(big, "user.vh5.shape").value_or("") == std::to_string(kTotal / 8));
  int fd = ::open(big.c_str(), O_RDONLY);
  BOOST_TEST_REQUIRE(fd >= 0);
  std::string got(kBlock, '\0');
  uint64_t bad_blocks = 0;
  for (uint64_t at = 0; at < kTotal; at += kBlock) {
    Pattern(at, &block);
    if (::pread(fd, got.data(), kBlock, static_cast<off_t>(at)) != static_cast<ssize_t>(kBlock) ||
        got != block)
      ++bad_blocks;
  }
  ::close(fd);
  BOOST_TEST(bad_blocks == 0u);
}

BOOST_AUTO_TEST_CASE(cp_a_round_trips_every_version_of_every_fixture,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  fs::path fixtures = *SharedFixtures();
  for (const ManifestFile& mf : LoadAllManifests(fixtures)) {
    if (mf.versions.empty()) continue;
    BOOST_TEST_CONTEXT("fixture " << mf.name) {
      TempDir dir;
      fs::path copy = dir.path() / "new.h5";
      Sh({Vh5Binary(), "init", copy.string()});
      Mount source(fixtures / mf.name, {"-o", "ro"});
      {
        Mount target(copy);
        fs::path staging = target.root() / "staging";
        for (const auto& [name, version] : mf.versions) {
          BOOST_TEST_CONTEXT("version " << name) {
            fs::path from = source.root() / "versions" / name;
            EmptyStaging(staging);
            Sh({"/bin/cp", "-a", (from / ".").string(), (staging / ".").string()});
            SetX(staging, "user.vh5.timestamp", version.timestamp);
            fs::path to = target.root() / "versions" / name;
            BOOST_TEST_REQUIRE(RenameErrno(staging, to) == 0);
            BOOST_TEST((AllContents(to) == AllContents(from)));
            auto want = AllXattrs(from), got = AllXattrs(to);
            for (auto& [path, x] : want) x.erase("user.vh5.prev_version");
            for (auto& [path, x] : got) x.erase("user.vh5.prev_version");
            BOOST_TEST((got == want));
            BOOST_TEST(GetXattr(to, "user.vh5.timestamp").value_or("") == version.timestamp);
          }
        }
      }
      VerifyClean(copy);
      // h5py reads the copy as the manifest describes the original.
      ptree oracle = H5pyOracle(copy);
      BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
      for (const auto& [name, version] : mf.versions) {
        for (const auto& [path, d] : version.datasets) {
          BOOST_TEST_CONTEXT(name << "/" << path) {
            BOOST_TEST(At(At(At(At(oracle, "versions"), name), "datasets"), path)
                           .get<std::string>("sha256") == d.sha256);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(shell_tools_build_a_version_that_h5py_reads) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  std::map<std::string, std::string> expected;
  ptree before = H5pyOracle(file).get_child("table_rows");
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    BOOST_TEST(GetXattr(staging, "user.vh5.prev_version").value_or("") == "v3");
    // dd one element into prices (one chunk changes), truncate matrix by 100 rows.
    Sh({"/bin/sh", "-c",
        "printf '\\0\\0\\0\\0\\0\\0\\360\\077' | dd of=" + (staging / "prices").string() +
            " bs=8 seek=7 conv=notrunc status=none"});
    Sh({"/usr/bin/truncate", "-s", std::to_string(200 * 40 * 4), (staging / "matrix").string()});
    Sh({"/bin/mkdir", (staging / "extra").string()});
    Sh({"/bin/cp", (staging / "names").string(), (staging / "extra/names_copy").string()});
    Sh({"/bin/mv", (staging / "sensors/humidity").string(), (staging / "extra/humidity").string()});
    Sh({"/bin/rm", (staging / "sensors/temperature").string()});
    Sh({"/usr/bin/setfattr", "-n", "user.h5.owner", "-v", "lab 7", (staging / "extra").string()});
    Sh({"/usr/bin/setfattr", "-n", "user.h5.scale", "-v", "0.25", (staging / "prices").string()});
    WriteFile(staging / "notes.txt", "hello\n");
    expected = AllContents(staging);
    BOOST_TEST(GetXattr(staging / "matrix", "user.vh5.shape").value_or("") == "200,40");
    BOOST_TEST(RenameErrno(staging, mount.root() / "versions" / "v4") == 0);
    BOOST_TEST(fs::read_symlink(mount.root() / "current").string() == "versions/v4");
    BOOST_TEST(GetXattr(mount.root() / "staging", "user.vh5.prev_version").value_or("") == "v4");
    BOOST_TEST((AllContents(mount.root() / "versions/v4") == expected));
  }
  {
    Mount again(file);
    fs::path v4 = again.root() / "versions/v4";
    BOOST_TEST((AllContents(v4) == expected));
    BOOST_TEST(GetXattr(v4 / "extra", "user.h5.owner").value_or("") == "lab 7");
    BOOST_TEST(GetXattr(v4 / "prices", "user.h5.scale").value_or("") == "0.25");
    BOOST_TEST(GetXattr(v4 / "prices", "user.vh5.h5type.scale").value_or("") == "<f8");
    BOOST_TEST(GetXattr(v4, "user.vh5.prev_version").value_or("") == "v3");
  }
  // HDF5 locks a file open for writing: h5py reads it once the mount is gone.
  VerifyClean(file);
  ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  const ptree& datasets = At(At(At(oracle, "versions"), "v4"), "datasets");
  BOOST_TEST(At(datasets, "prices").get<std::string>("sha256") == expected["prices"]);
  BOOST_TEST(At(datasets, "notes.txt").get<std::string>("sha256") == expected["notes.txt"]);
  BOOST_TEST(At(datasets, "matrix").get<std::string>("sha256") == expected["matrix"]);
  // New chunks per dataset path: only what changed, and whatever moved to a new path.
  const ptree& after = oracle.get_child("table_rows");
  auto added = [&](const std::string& path) {
    int was = 0;
    for (const auto& [k, v] : before)
      if (k == path) was = std::stoi(v.data());
    return std::stoi(At(after, path).data()) - was;
  };
  BOOST_TEST(added("prices") == 1);
  BOOST_TEST(added("matrix") == 0);
  BOOST_TEST(added("names") == 0);
  BOOST_TEST(added("notes.txt") == 1);
  BOOST_TEST(added("extra/names_copy") == 1);  // plain cp: a 1-D |u1 dataset, one chunk
  BOOST_TEST(added("extra/humidity") == 3);    // 5 chunks, of which 3 differ (period 24)
}

BOOST_AUTO_TEST_CASE(an_identical_rewrite_stores_nothing_and_one_element_one_chunk) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  auto prices_rows = [&] {
    return std::stoi(At(H5pyOracle(file).get_child("table_rows"), "prices").data());
  };
  int rows0 = prices_rows();
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    Sh({"/bin/cp", (mount.root() / "versions/v3/prices").string(), (staging / "prices").string()});
    BOOST_TEST(RenameErrno(staging, mount.root() / "versions/same") == 0);
  }
  int rows1 = prices_rows();
  BOOST_TEST(rows1 == rows0);
  {
    Mount mount(file);
    fs::path prices = mount.root() / "staging/prices";
    int fd = ::open(prices.c_str(), O_WRONLY);
    BOOST_TEST_REQUIRE(fd >= 0);
    double v = 42;
    BOOST_TEST(::pwrite(fd, &v, 8, 8 * 99999) == 8);
    BOOST_TEST(::close(fd) == 0);
    BOOST_TEST(RenameErrno(mount.root() / "staging", mount.root() / "versions/one") == 0);
  }
  BOOST_TEST(prices_rows() == rows1 + 1);
  VerifyClean(file);
}

// copy_file_range(2) inside the mount (what cp does first) moves the bytes
// within vh5fs: whole files, ranges at offsets, from a version or from
// staging/, up to and past the end; the version committed from them reads
// in h5py as the same bytes.
BOOST_AUTO_TEST_CASE(copy_file_range_inside_the_mount_copies_exactly) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  std::string want_whole, want_spliced;
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    fs::path prices = mount.root() / "versions/v3/prices";
    std::string source = ReadFile(prices);
    BOOST_TEST_REQUIRE(source.size() > 100000u);
    auto copy = [](const fs::path& from, loff_t from_at, const fs::path& to, loff_t to_at,
                   size_t len) -> ssize_t {
      int in = ::open(from.c_str(), O_RDONLY);
      int out = ::open(to.c_str(), O_WRONLY | O_CREAT, 0644);
      ssize_t total = 0, n = 0;
      errno = 0;
      while (in >= 0 && out >= 0 && static_cast<size_t>(total) < len &&
             (n = ::copy_file_range(in, &from_at, out, &to_at, len - total, 0)) > 0)
        total += n;
      int err = errno;
      ::close(in);
      ::close(out);
      errno = err;
      return n < 0 ? -1 : total;
    };
    // The whole file, as cp asks: far more than there is.
    BOOST_TEST(copy(prices, 0, staging / "whole", 0, size_t{1} << 40) ==
               static_cast<ssize_t>(source.size()));
    want_whole = source;
    // A copy of prices with 8 KiB from 1000 bytes on replaced by bytes 5000..
    // of the version, then by bytes of staging/whole itself.
    fs::path target = staging / "prices";
    BOOST_TEST(copy(prices, 5000, target, 1000, 8192) == 8192);
    BOOST_TEST(copy(staging / "whole", 64, target, 50000, 4096) == 4096);
    want_spliced = ReadFile(prices);
    want_spliced.replace(1000, 8192, source, 5000, 8192);
    want_spliced.replace(50000, 4096, source, 64, 4096);
    BOOST_TEST((ReadFile(target) == want_spliced));
    BOOST_TEST((ReadFile(staging / "whole") == want_whole));
    // Past the end of the source: nothing to copy.
    BOOST_TEST(copy(prices, static_cast<loff_t>(source.size()), target, 0, 100) == 0);
    BOOST_TEST(RenameErrno(staging, mount.root() / "versions/copied") == 0);
    BOOST_TEST((ReadFile(mount.root() / "versions/copied/prices") == want_spliced));
  }
  VerifyClean(file);
  ptree oracle = H5pyOracle(file);
  const ptree& datasets = At(At(At(oracle, "versions"), "copied"), "datasets");
  BOOST_TEST(At(datasets, "prices").get<std::string>("sha256") == Sha256Hex(want_spliced));
  BOOST_TEST(At(datasets, "whole").get<std::string>("sha256") == Sha256Hex(want_whole));
}

BOOST_AUTO_TEST_CASE(bad_commits_and_partial_rows_are_refused) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  fs::path versions = mount.root() / "versions";
  // A partial row: close() says EINVAL and the last valid content stays.
  std::string before = ReadFile(staging / "matrix");
  int fd = ::open((staging / "matrix").c_str(), O_WRONLY | O_APPEND);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST(::write(fd, "abc", 3) == 3);
  errno = 0;
  BOOST_TEST(::close(fd) == -1);
  BOOST_TEST(errno == EINVAL);
  BOOST_TEST((ReadFile(staging / "matrix") == before));
  // truncate(2) to a partial row: EINVAL at once.
  BOOST_TEST(::truncate((staging / "matrix").c_str(), 5) == -1);
  BOOST_TEST(errno == EINVAL);
  // Changes the format cannot hold for a dataset already in the file.
  BOOST_TEST(::setxattr((staging / "matrix").c_str(), "user.vh5.dtype", "<i8", 3, 0) == -1);
  BOOST_TEST(::setxattr((staging / "matrix").c_str(), "user.vh5.chunks", "7,7", 3, 0) == -1);
  // Rebase is refused while staging holds changes, and discard empties it.
  WriteFile(staging / "new", "x");
  BOOST_TEST(::setxattr(staging.c_str(), "user.vh5.prev_version", "v1", 2, 0) == -1);
  BOOST_TEST(errno == EBUSY);
  SetX(staging, "user.vh5.discard", "1");
  BOOST_TEST(!fs::exists(staging / "new"));
  SetX(staging, "user.vh5.prev_version", "v1");
  BOOST_TEST(GetXattr(staging, "user.vh5.prev_version").value_or("") == "v1");
  BOOST_TEST(!fs::exists(staging / "sensors/humidity"));  // v1 had none
  // Names: taken, invalid; nothing changes.
  WriteFile(staging / "new", "x");
  BOOST_TEST(RenameErrno(staging, versions / "v2") == EEXIST);
  BOOST_TEST(RenameErrno(staging, versions / "__first_version__") == EINVAL);
  BOOST_TEST(RenameErrno(staging, versions / "..") != 0);
  BOOST_TEST(fs::exists(staging / "new"));
  BOOST_TEST(::setxattr(staging.c_str(), "user.vh5.timestamp", "yesterday", 9, 0) == -1);
  BOOST_TEST(errno == EINVAL);
  // make_current=0: the version appears, current stays.
  SetX(staging, "user.vh5.make_current", "0");
  SetX(staging, "user.vh5.timestamp", "2025-06-01 12:00:00.000000+0000");
  BOOST_TEST(RenameErrno(staging, versions / "side") == 0);
  BOOST_TEST(fs::read_symlink(mount.root() / "current").string() == "versions/v3");
  BOOST_TEST(GetXattr(versions / "side", "user.vh5.prev_version").value_or("") == "v1");
  BOOST_TEST(GetXattr(versions / "side", "user.vh5.timestamp").value_or("") ==
             "2025-06-01 12:00:00.000000+0000");
  BOOST_TEST(ReadFile(versions / "side/new") == "x");
  BOOST_TEST(GetXattr(staging, "user.vh5.prev_version").value_or("") == "v3");
}

// The first commit onto a data_version 1-3 file rebuilds its hash tables and
// raises data_version to 4, as the Python library does; nothing old changes.
BOOST_AUTO_TEST_CASE(committing_onto_a_legacy_file_upgrades_it,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  fs::path fixtures = *SharedFixtures();
  for (const ManifestFile& mf : LoadAllManifests(fixtures)) {
    if (mf.name.rfind("legacy/", 0) != 0) continue;
    BOOST_TEST_CONTEXT("fixture " << mf.name) {
      TempDir dir;
      fs::path copy = dir.path() / "legacy.h5";
      fs::copy_file(fixtures / mf.name, copy);
      std::map<std::string, std::string> staged;
      {
        Mount mount(copy);
        fs::path staging = mount.root() / "staging";
        for (const auto& e : fs::recursive_directory_iterator(staging)) {
          if (!e.is_regular_file()) continue;
          std::string text = ReadFile(e.path());
          WriteFile(e.path(), text + "one more line\n");  // vlen strings: one element more
        }
        WriteFile(staging / "added", "new\n");
        staged = AllContents(staging);
        BOOST_TEST_REQUIRE(RenameErrno(staging, mount.root() / "versions/upgraded") == 0);
      }
      VerifyClean(copy);
      ptree oracle = H5pyOracle(copy);
      BOOST_TEST(oracle.get<int>("data_version") == 4);
      BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
      for (const auto& [name, version] : mf.versions)
        for (const auto& [path, d] : version.datasets)
          BOOST_TEST(At(At(At(At(oracle, "versions"), name), "datasets"), path)
                         .get<std::string>("sha256") == d.sha256);
      Mount again(copy, {"-o", "ro"});
      BOOST_TEST((AllContents(again.root() / "versions/upgraded") == staged));
    }
  }
}

BOOST_AUTO_TEST_CASE(read_only_mounts_have_no_staging) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  Mount mount(file, {"-o", "ro"});
  BOOST_TEST(!fs::exists(mount.root() / "staging"));
  BOOST_TEST(fs::exists(mount.root() / "versions/v1"));
}

BOOST_AUTO_TEST_SUITE_END()
