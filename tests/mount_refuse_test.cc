// What vh5fs refuses: every change under versions/ (EROFS) but the rmdir
// and rename of a version itself (tests/version_edits.py), and files or
// mount points it cannot serve (exit status 1, one line, nothing mounted or
// written).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>

#include "test_util.h"

using namespace vh5test;

namespace {

void MakeDemoFile(const fs::path& file) {
  CommandResult made = Run({Vh5Binary(), "demo", file.string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
}

// A call that must have failed with EROFS: `result` is its return value and
// errno is still the call's.
void ExpectErofs(const char* call, long result) {
  int err = errno;
  BOOST_TEST(result == -1, call << " fails");
  BOOST_TEST(err == EROFS, call << ": " << strerror(err));
}
#define EXPECT_EROFS(call) (errno = 0, ExpectErofs(#call, (call)))

// open(2) that closes what it opened, if it ever does.
int Open(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  return fd;
}

void CheckEveryChangeIsRefused(const fs::path& root, const std::string& version) {
  fs::path dir = root / "versions" / version;
  fs::path some_file, some_group;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) some_file = e.path();
    if (e.is_directory()) some_group = e.path();
  }
  BOOST_TEST_REQUIRE(!some_file.empty());
  BOOST_TEST_REQUIRE(!some_group.empty());
  std::string before = ReadFile(some_file);
  struct timespec times[2] = {{1, 0}, {1, 0}};

  EXPECT_EROFS(::mkdir((dir / "newdir").c_str(), 0755));
  EXPECT_EROFS(::mkdir((root / "versions" / "newversion").c_str(), 0755));
  EXPECT_EROFS(Open(dir / "newfile", O_WRONLY | O_CREAT));
  EXPECT_EROFS(Open(root / "versions" / "newfile", O_WRONLY | O_CREAT));
  EXPECT_EROFS(::mknod((dir / "fifo").c_str(), S_IFIFO | 0644, 0));
  EXPECT_EROFS(::symlink("x", (dir / "link").c_str()));
  EXPECT_EROFS(::link(some_file.c_str(), (dir / "hardlink").c_str()));
  EXPECT_EROFS(::setxattr(dir.c_str(), "user.h5.x", "1", 1, 0));
  EXPECT_EROFS(::setxattr(some_group.c_str(), "user.h5.x", "1", 1, 0));
  EXPECT_EROFS(::setxattr(dir.c_str(), "user.vh5.timestamp", "x", 1, 0));
  EXPECT_EROFS(::rename(some_file.c_str(), (dir / "renamed").c_str()));
  EXPECT_EROFS(::rename(some_group.c_str(), (dir / "renamed_group").c_str()));
  EXPECT_EROFS(::rmdir(some_group.c_str()));
  EXPECT_EROFS(Open(some_file, O_WRONLY));
  EXPECT_EROFS(Open(some_file, O_RDWR));
  EXPECT_EROFS(Open(some_file, O_RDONLY | O_TRUNC));
  EXPECT_EROFS(::truncate(some_file.c_str(), 0));
  EXPECT_EROFS(::unlink(some_file.c_str()));
  EXPECT_EROFS(::chmod(some_file.c_str(), 0777));
  EXPECT_EROFS(::chmod(dir.c_str(), 0777));
  EXPECT_EROFS(::chown(some_file.c_str(), 1, 1));
  EXPECT_EROFS(::utimensat(AT_FDCWD, some_file.c_str(), times, 0));
  EXPECT_EROFS(::setxattr(some_file.c_str(), "user.vh5.shape", "1", 1, 0));
  EXPECT_EROFS(::setxattr(some_file.c_str(), "user.h5.new", "1", 1, 0));
  EXPECT_EROFS(::removexattr(some_file.c_str(), "user.vh5.dtype"));
  // Nothing moved.
  BOOST_TEST((ReadFile(some_file) == before));
  BOOST_TEST(fs::is_directory(some_group));
  BOOST_TEST(!fs::exists(dir / "newdir"));
  BOOST_TEST(!fs::exists(root / "versions" / "newversion"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_refuse)

// Under versions/ vh5fs itself refuses every change (the mount is read-write,
// so the kernel does not do it for vh5fs).
BOOST_AUTO_TEST_CASE(versions_refuse_every_change) {
  TempDir dir;
  fs::path copy = dir.path() / "demo.h5";
  MakeDemoFile(copy);
  FileState before = FileState::Of(copy);
  {
    Mount mount(copy);
    BOOST_TEST(fs::is_directory(mount.root() / "staging"));
    for (const char* version : {"v1", "v3"}) {
      BOOST_TEST_CONTEXT("version " << version) {
        Isolated([&] { CheckEveryChangeIsRefused(mount.root(), version); });
      }
    }
  }
  CheckUnchanged(copy, before);
}

BOOST_AUTO_TEST_CASE(bad_files_are_refused_before_mounting) {
  TempDir dir;
  WriteFile(dir.path() / "random.h5", std::string(8192, '\x17'));
  WriteFile(dir.path() / "empty.h5", "");
  WritePlainHdf5(dir.path() / "plain.h5", "/data");
  WritePlainHdf5(dir.path() / "half.h5", "/_version_data");
  CheckMountRefused(dir.path() / "random.h5", "random bytes");
  CheckMountRefused(dir.path() / "empty.h5", "an empty file");
  CheckMountRefused(dir.path() / "plain.h5", "HDF5 without _version_data");
  CheckMountRefused(dir.path() / "half.h5", "HDF5 with an empty _version_data group");
  CheckMountRefused(dir.path() / "missing.h5", "a missing file");
  CheckMountRefused(dir.path(), "a directory");
}

BOOST_AUTO_TEST_CASE(a_bad_mountpoint_is_refused) {
  TempDir dir;
  MakeDemoFile(dir.path() / "demo.h5");
  WriteFile(dir.path() / "not-a-dir", "x");
  CommandResult r =
      Run({Vh5fsBinary(), (dir.path() / "demo.h5").string(), (dir.path() / "not-a-dir").string()});
  BOOST_TEST(r.exit_status == 1);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  BOOST_TEST(!IsMounted(dir.path() / "not-a-dir"));
  r = Run({Vh5fsBinary(), (dir.path() / "demo.h5").string(), (dir.path() / "missing").string()});
  BOOST_TEST(r.exit_status == 1);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  r = Run({Vh5fsBinary()});
  BOOST_TEST(r.exit_status == 1);
}

BOOST_AUTO_TEST_SUITE_END()
