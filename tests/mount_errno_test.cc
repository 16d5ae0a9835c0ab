// What everyday tools meet at the edges of staging/, through a real mount:
// fallocate(2), the errors a Linux filesystem gives (over-long names,
// unsupported rename flags and node types), statfs(2), and the times of
// versions/ and of the versioned file.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "test_util.h"

using namespace vh5test;

namespace {

int Errno(int result) { return result == 0 ? 0 : errno; }

int FallocateErrno(int fd, int mode, off_t offset, off_t length) {
  errno = 0;
  return Errno(::fallocate(fd, mode, offset, length));
}

int Renameat2Errno(const fs::path& from, const fs::path& to, unsigned int flags) {
  errno = 0;
  return Errno(static_cast<int>(
      ::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags)));
}

off_t SizeOf(int fd) {
  struct stat st;
  BOOST_REQUIRE(::fstat(fd, &st) == 0);
  return st.st_size;
}

std::string Doubles(const std::vector<double>& values) {
  std::string out(values.size() * sizeof(double), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

int64_t Ns(const struct timespec& ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

int64_t MtimeNs(const fs::path& path) {
  struct stat st;
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return Ns(st.st_mtim);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_errno)

// fallocate(2) as POSIX and Linux mean it, with a dataset's fill value for
// "zero": mode 0 grows (new rows read as the fill value), KEEP_SIZE does
// nothing more, a punched hole or a zeroed range reads as the fill value;
// what moves rows (collapse, insert) is EOPNOTSUPP, never EROFS.
BOOST_AUTO_TEST_CASE(fallocate_fills_with_the_fill_value) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  std::string want(100, 'x');
  {
    ScopedFd fd(::open((staging / "bytes").c_str(), O_RDWR | O_CREAT, 0644));
    BOOST_TEST_REQUIRE(fd.get() >= 0);
    BOOST_TEST_REQUIRE(::pwrite(fd.get(), want.data(), want.size(), 0) == 100);
    BOOST_TEST(FallocateErrno(fd.get(), 0, 90, 20) == 0);
    want.resize(110, '\0');
    BOOST_TEST(SizeOf(fd.get()) == 110);
    BOOST_TEST(FallocateErrno(fd.get(), 0, 0, 50) == 0);  // inside: nothing to do
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_KEEP_SIZE, 0, 200) == 0);
    BOOST_TEST(SizeOf(fd.get()) == 110);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 10, 5) == 0);
    want.replace(10, 5, 5, '\0');
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 85, 50) == 0);
    want.replace(85, 25, 25, '\0');
    BOOST_TEST(SizeOf(fd.get()) == 110);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_ZERO_RANGE, 20, 5) == 0);
    want.replace(20, 5, 5, '\0');
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_ZERO_RANGE, 105, 15) == 0);
    want.resize(120, '\0');
    BOOST_TEST(SizeOf(fd.get()) == 120);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 115, 20) == 0);
    BOOST_TEST(SizeOf(fd.get()) == 120);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_COLLAPSE_RANGE, 0, 4096) == EOPNOTSUPP);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_INSERT_RANGE, 0, 4096) == EOPNOTSUPP);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_PUNCH_HOLE, 0, 10) == EOPNOTSUPP);
    BOOST_TEST(::close(fd.get()) == 0);
  }
  BOOST_TEST(ReadFile(staging / "bytes") == want);

  // A fill value of 1.5: grown and punched rows read 1.5; part of a row is
  // no range of rows.
  {
    ScopedFd fd(::open((staging / "doubles").c_str(), O_RDWR | O_CREAT, 0644));
    BOOST_TEST_REQUIRE(fd.get() >= 0);
    SetX(staging / "doubles", "user.vh5.dtype", "<f8");
    SetX(staging / "doubles", "user.vh5.fillvalue", "1.5");
    std::string first = Doubles({3.0, 4.0});
    BOOST_TEST_REQUIRE(::pwrite(fd.get(), first.data(), first.size(), 0) == 16);
    BOOST_TEST(FallocateErrno(fd.get(), 0, 0, 40) == 0);
    BOOST_TEST(SizeOf(fd.get()) == 40);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 8) == 0);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_ZERO_RANGE, 4, 8) == EOPNOTSUPP);
    BOOST_TEST(FallocateErrno(fd.get(), FALLOC_FL_ZERO_RANGE, 40, 16) == 0);
    BOOST_TEST(SizeOf(fd.get()) == 56);
    BOOST_TEST(::close(fd.get()) == 0);
  }
  std::string doubles = Doubles({1.5, 4.0, 1.5, 1.5, 1.5, 1.5, 1.5});
  BOOST_TEST(ReadFile(staging / "doubles") == doubles);

  BOOST_TEST_REQUIRE(Errno(::rename(staging.c_str(), (mount.root() / "versions/v1").c_str())) == 0);
  BOOST_TEST(ReadFile(mount.root() / "versions/v1/bytes") == want);
  BOOST_TEST(ReadFile(mount.root() / "versions/v1/doubles") == doubles);
  BOOST_TEST(GetXattr(mount.root() / "versions/v1/doubles", "user.vh5.shape").value_or("") == "7");
  // A committed version stays read-only.
  errno = 0;
  BOOST_TEST(::open((mount.root() / "versions/v1/bytes").c_str(), O_RDWR) == -1);
  BOOST_TEST(errno == EROFS);
}

// A name over 255 bytes is ENAMETOOLONG on every call that names it, in
// staging/, in a version, at the top, as on a disk filesystem (not ENOENT,
// not EROFS); 255 bytes is a name like any other.
BOOST_AUTO_TEST_CASE(names_over_255_bytes_are_enametoolong_everywhere) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  fs::path versions = mount.root() / "versions";
  WriteFile(staging / "f", "x");
  BOOST_TEST_REQUIRE(::mkdir((staging / "d").c_str(), 0755) == 0);
  BOOST_TEST_REQUIRE(Errno(::rename(staging.c_str(), (versions / "v1").c_str())) == 0);
  std::string long_name(256, 'a');
  std::string max_name(255, 'b');
  struct stat st;
  for (const fs::path& parent :
       {staging, staging / "d", versions / "v1", versions / "v1/d", versions, mount.root()}) {
    BOOST_TEST_CONTEXT(parent) {
      fs::path name = parent / long_name;
      BOOST_TEST(Errno(::stat(name.c_str(), &st)) == ENAMETOOLONG);
      BOOST_TEST(Errno(::unlink(name.c_str())) == ENAMETOOLONG);
      BOOST_TEST(Errno(::rmdir(name.c_str())) == ENAMETOOLONG);
      BOOST_TEST(Errno(::mkdir(name.c_str(), 0755)) == ENAMETOOLONG);
      BOOST_TEST(Errno(::truncate(name.c_str(), 0)) == ENAMETOOLONG);
      BOOST_TEST(Errno(::open(name.c_str(), O_WRONLY | O_CREAT, 0644) < 0 ? -1 : 0) ==
                 ENAMETOOLONG);
      BOOST_TEST(Errno(::rename(name.c_str(), (staging / "g").c_str())) == ENAMETOOLONG);
      BOOST_TEST(Errno(::rename((staging / "f").c_str(), name.c_str())) == ENAMETOOLONG);
      BOOST_TEST(Errno(::mknod(name.c_str(), S_IFREG | 0644, 0)) == ENAMETOOLONG);
      BOOST_TEST(Errno(::symlink("f", name.c_str())) == ENAMETOOLONG);
      BOOST_TEST(Errno(::link((staging / "f").c_str(), name.c_str())) == ENAMETOOLONG);
      errno = 0;
      BOOST_TEST(::getxattr(name.c_str(), "user.vh5.dtype", nullptr, 0) == -1);
      BOOST_TEST(errno == ENAMETOOLONG);
      BOOST_TEST(Errno(::setxattr(name.c_str(), "user.h5.a", "1", 1, 0)) == ENAMETOOLONG);
    }
  }
  WriteFile(staging / max_name, "y");
  BOOST_TEST(ReadFile(staging / max_name) == "y");
  BOOST_TEST(Errno(::rename((staging / max_name).c_str(), (staging / "d" / max_name).c_str())) ==
             0);
  BOOST_TEST(Errno(::unlink((staging / "d" / max_name).c_str())) == 0);
  BOOST_TEST(Errno(::stat((versions / "v1" / max_name).c_str(), &st)) == ENOENT);
}

// renameat2(2): RENAME_NOREPLACE works; RENAME_EXCHANGE and RENAME_WHITEOUT
// (overlayfs asks for it) are EINVAL, as on a filesystem without them.
BOOST_AUTO_TEST_CASE(unsupported_rename_flags_are_einval) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  WriteFile(staging / "a", "a");
  WriteFile(staging / "b", "b");
  BOOST_TEST(Renameat2Errno(staging / "a", staging / "c", RENAME_WHITEOUT) == EINVAL);
  BOOST_TEST(Renameat2Errno(staging / "a", staging / "b", RENAME_EXCHANGE) == EINVAL);
  BOOST_TEST(Renameat2Errno(staging / "a", staging / "b", RENAME_NOREPLACE) == EEXIST);
  BOOST_TEST(Renameat2Errno(staging, mount.root() / "versions/v1", RENAME_WHITEOUT) == EINVAL);
  BOOST_TEST(!fs::exists(mount.root() / "versions/v1"));
  BOOST_TEST(Renameat2Errno(staging / "a", staging / "c", RENAME_NOREPLACE) == 0);
  BOOST_TEST(ReadFile(staging / "c") == "a");
  BOOST_TEST(ReadFile(staging / "b") == "b");
  BOOST_TEST(!fs::exists(staging / "a"));
}

// Only groups and datasets live in staging/: symlinks, hard links, fifos,
// devices and sockets are EPERM there (as on a filesystem without them);
// in a version or at the top, EROFS.
BOOST_AUTO_TEST_CASE(other_node_types_are_eperm_in_staging_and_erofs_elsewhere) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  WriteFile(staging / "f", "x");
  BOOST_TEST(Errno(::symlink("f", (staging / "s").c_str())) == EPERM);
  BOOST_TEST(Errno(::link((staging / "f").c_str(), (staging / "h").c_str())) == EPERM);
  BOOST_TEST(Errno(::mknod((staging / "p").c_str(), S_IFIFO | 0644, 0)) == EPERM);
  BOOST_TEST(Errno(::mknod((staging / "c").c_str(), S_IFCHR | 0644, makedev(1, 3))) == EPERM);
  BOOST_TEST(Errno(::mknod((staging / "k").c_str(), S_IFSOCK | 0644, 0)) == EPERM);
  BOOST_TEST(Errno(::mknod((staging / "r").c_str(), S_IFREG | 0644, 0)) == 0);
  BOOST_TEST(fs::is_regular_file(staging / "r"));
  BOOST_TEST_REQUIRE(Errno(::rename(staging.c_str(), (mount.root() / "versions/v1").c_str())) == 0);
  fs::path v1 = mount.root() / "versions/v1";
  BOOST_TEST(Errno(::symlink("f", (v1 / "s").c_str())) == EROFS);
  BOOST_TEST(Errno(::link((staging / "f").c_str(), (v1 / "h").c_str())) == EROFS);
  BOOST_TEST(Errno(::mknod((v1 / "p").c_str(), S_IFIFO | 0644, 0)) == EROFS);
  BOOST_TEST(Errno(::symlink("f", (mount.root() / "s").c_str())) == EROFS);
}

// df(1) on the mount shows the disk that holds the versioned file, where
// staged and committed data go.
BOOST_AUTO_TEST_CASE(statfs_reports_the_disk_of_the_file) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  struct statvfs disk, mounted;
  BOOST_TEST_REQUIRE(::statvfs(dir.path().c_str(), &disk) == 0);
  BOOST_TEST_REQUIRE(::statvfs(mount.root().c_str(), &mounted) == 0);
  BOOST_TEST(mounted.f_blocks > 0u);
  BOOST_TEST(mounted.f_bsize == disk.f_bsize);
  BOOST_TEST(mounted.f_frsize * mounted.f_blocks == disk.f_frsize * disk.f_blocks);
  BOOST_TEST(mounted.f_files == disk.f_files);
  BOOST_TEST(mounted.f_namemax == 255u);
  // Free space moves with the disk's, give or take what others write meanwhile.
  double free_disk = static_cast<double>(disk.f_frsize) * static_cast<double>(disk.f_bavail);
  double free_mount = static_cast<double>(mounted.f_frsize) * static_cast<double>(mounted.f_bavail);
  BOOST_TEST(free_mount <= free_disk * 1.1 + (64 << 20));
  BOOST_TEST(free_mount >= free_disk * 0.9 - (64 << 20));
}

// versions/ changes when a version is made, as a directory does when an
// entry is: its mtime (and ctime) is the latest commit's timestamp, after a
// commit through the mount (current or not) and after one by another
// process (that moved current).
BOOST_AUTO_TEST_CASE(versions_mtime_is_the_newest_commit) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "init", file.string()});
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  fs::path versions = mount.root() / "versions";
  WriteFile(staging / "f", "1");
  SetX(staging, "user.vh5.timestamp", "2030-01-01 00:00:00.000000+0000");
  BOOST_TEST_REQUIRE(Errno(::rename(staging.c_str(), (versions / "v1").c_str())) == 0);
  int64_t v1 = MtimeNs(versions / "v1");
  BOOST_TEST(v1 == 1893456000LL * 1000000000LL);
  BOOST_TEST(MtimeNs(versions) == v1);
  struct stat st;
  BOOST_TEST_REQUIRE(::stat(versions.c_str(), &st) == 0);
  BOOST_TEST(Ns(st.st_ctim) == v1);

  WriteFile(staging / "f", "2");
  SetX(staging, "user.vh5.timestamp", "2030-01-02 00:00:00.000000+0000");
  BOOST_TEST_REQUIRE(Errno(::rename(staging.c_str(), (versions / "v2").c_str())) == 0);
  BOOST_TEST(MtimeNs(versions) == MtimeNs(versions / "v2"));
  BOOST_TEST(MtimeNs(versions) > v1);

  // Another process commits; the mount takes it in within a second or so.
  vh5::NewVersion v;
  v.name = "v3";
  v.timestamp = "2030-01-03 00:00:00.000000+0000";
  v.datasets.push_back(MakeDataset("g", "|u1", {3}, {3}));
  v.datasets.back().data = "abc";
  vh5::Status s = vh5::CommitVersion(file.string(), v);
  BOOST_TEST_REQUIRE(s.ok(), s.ToString());
  int64_t want = (1893456000LL + 2 * 86400) * 1000000000LL;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (MtimeNs(versions) != want && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(MtimeNs(versions) == want);
  BOOST_TEST(MtimeNs(versions / "v3") == want);

  // A version that does not become current, committed here.
  WriteFile(staging / "f", "4");
  SetX(staging, "user.vh5.make_current", "0");
  SetX(staging, "user.vh5.timestamp", "2030-01-04 00:00:00.000000+0000");
  BOOST_TEST_REQUIRE(Errno(::rename(staging.c_str(), (versions / "side").c_str())) == 0);
  BOOST_TEST(fs::read_symlink(mount.root() / "current").string() == "versions/v3");
  BOOST_TEST(MtimeNs(versions) == MtimeNs(versions / "side"));
  BOOST_TEST(MtimeNs(versions) > want);
}

// A commit that fails once it has the file open for writing (an attribute
// value its type cannot hold, found while the version is written) leaves
// the file as it was: its bytes and its modification time at once (not
// only at unmount); the unmount then puts back the access time it had
// before the mount (reads moved it).
BOOST_AUTO_TEST_CASE(a_failed_commit_leaves_the_file_times_as_they_were) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  Sh({Vh5Binary(), "demo", file.string()});
  // Times in the past, so that any write (or read) would move them.
  struct timespec past[2] = {{1000000000, 123}, {1000000000, 456}};
  BOOST_TEST_REQUIRE(::utimensat(AT_FDCWD, file.c_str(), past, 0) == 0);
  FileState before = FileState::Of(file);
  struct stat st;
  BOOST_TEST_REQUIRE(::stat(file.c_str(), &st) == 0);  // FileState::Of read it
  int64_t atime = Ns(st.st_atim);
  {
    Mount mount(file);
    fs::path staging = mount.root() / "staging";
    BOOST_TEST_REQUIRE(::mkdir((staging / "g").c_str(), 0755) == 0);
    SetX(staging / "g", "user.vh5.h5type.n", "<i4");
    SetX(staging / "g", "user.h5.n", "not a number");
    BOOST_TEST(Errno(::rename(staging.c_str(), (mount.root() / "versions/bad").c_str())) == EPERM);
    BOOST_TEST(!fs::exists(mount.root() / "versions/bad"));
    BOOST_TEST(fs::is_directory(staging / "g"));  // staging keeps every change
    CheckUnchanged(file, before);
  }
  // Stat before reading it again: under relatime a read moves it once more.
  BOOST_TEST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST(Ns(st.st_atim) == atime);
  CheckUnchanged(file, before);
}

BOOST_AUTO_TEST_SUITE_END()
