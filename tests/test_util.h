// Helpers shared by the test suites: temp dirs, hashing, child processes,
// real mounts that always come down, and the shared fixtures.
#pragma once

#include <sys/types.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/staging.h"
#include "vh5/status.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

namespace vh5 {
// Lets Boost.Test print Status codes in failed assertions.
inline std::ostream& operator<<(std::ostream& os, Status::Code code) {
  return os << Status::CodeName(code);
}
}  // namespace vh5

namespace vh5test {

namespace fs = std::filesystem;

// A fresh directory under /tmp/vh5fs-test-*, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A tmpfs of `mib` MiB mounted on a fresh TempDir, for running out of space;
// unmounted (lazily) by the destructor.
class SmallDisk {
 public:
  explicit SmallDisk(int mib);
  ~SmallDisk();
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  const fs::path& path() const { return dir_.path(); }

 private:
  TempDir dir_;
};

std::string Sha256Hex(std::string_view data);
// Every node under `root` by relative path: a file's SHA-256, or "<dir>".
std::map<std::string, std::string> AllContents(const fs::path& root);
std::string ReadFile(const fs::path& path);
void WriteFile(const fs::path& path, std::string_view data);
// An HDF5 file holding one empty group `group` and no versioned data.
void WritePlainHdf5(const fs::path& path, const std::string& group);
// Reads `path` with read(2) in pieces of `piece` bytes.
std::string ReadFileInPieces(const fs::path& path, size_t piece);

struct CommandResult {
  int exit_status = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};
// Runs argv[0] (a path) with no shell; stdin is /dev/null.
CommandResult Run(const std::vector<std::string>& argv);

// Run() that must succeed: fails the test (and ends it) with the command's stderr.
void Sh(const std::vector<std::string>& argv);
// setxattr(2) that must succeed: fails the test (and ends it) with errno.
void SetX(const fs::path& path, const std::string& name, const std::string& value);

// The extended attribute `name` of `path`, or nullopt (errno kept) if absent.
std::optional<std::string> GetXattr(const fs::path& path, const std::string& name);
std::vector<std::string> ListXattrs(const fs::path& path);

// Runs `body` in a forked child, which exits with what it returns (or dies
// earlier, at a crash point); the child's exit status, -1 if a signal ended it.
int ExitStatusInChild(const std::function<int()>& body);

// The binaries built with the tests; $VH5FS_BINARY / $VH5_BINARY override them.
std::string Vh5fsBinary();
std::string Vh5Binary();
// vh5fs with crash points armed from the environment (tests/crashable_vh5fs.cc).
std::string CrashableVh5fsBinary();

// vh5fs FILE MOUNTPOINT -f in a child process; the destructor unmounts, reaps
// the child and removes the mount point, even when a test failed. `binary`:
// the vh5fs to run (CrashableVh5fsBinary() for tests that arm crash points).
class Mount {
 public:
  explicit Mount(const fs::path& file, std::vector<std::string> extra_args = {},
                 const std::string& binary = Vh5fsBinary());
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;
  const fs::path& root() const { return mountpoint_; }
  pid_t pid() const { return child_; }
  // Empty while vh5fs runs; once it has ended, how (exit status or signal)
  // and what it wrote on stderr.
  std::string Ended();
  // What vh5fs has written on stderr (its log) so far.
  std::string Log() const;

 private:
  TempDir dir_;
  fs::path mountpoint_;
  pid_t child_ = -1;
  std::string ended_;
};

bool IsMounted(const fs::path& mountpoint);

// A descriptor closed when it goes out of scope unless Close()d before:
// declared after a Mount, a failed check never leaves the mount busy.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd();
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  // close(2)'s result (errno set on -1); the descriptor is gone either way.
  int Close();

 private:
  int fd_;
};

// The most memory `pid` has held at once (VmHWM), in KiB; 0 if unknown.
uint64_t PeakRssKiB(pid_t pid);

// What must not change about a file vh5fs opened: its bytes and its mtime.
struct FileState {
  std::string sha256;  // "<absent>" when there is no file
  struct timespec mtime {};
  static FileState Of(const fs::path& file);
};
// Fails the test when `file` is not as it was.
void CheckUnchanged(const fs::path& file, const FileState& before);

// A dataset to commit: its path, dtype, shape and chunks; content to add.
vh5::NewDataset MakeDataset(std::string path, std::string dtype, std::vector<uint64_t> shape,
                            std::vector<uint64_t> chunks);

// vh5fs refuses to mount `file` (`why` names the case): exit status 1, one
// line on stderr starting "vh5fs: " (and holding `named`, when given),
// nothing on stdout, nothing mounted, the file unchanged.
void CheckMountRefused(const fs::path& file, const std::string& why, const std::string& named = "");

// `file` open read-write, as vh5fs holds it while staging is on; fails the
// test (and ends it) when it cannot be.
std::shared_ptr<vh5::VersionedFile> OpenWritable(const fs::path& file);

// The whole content of the staged dataset at `path`; fails the test (and
// ends it) when it cannot be read.
std::string ReadStaged(const vh5::Staging& staging, const std::string& path);

// ../shared/fixtures beside the checkout (or $VH5_SHARED_DIR/fixtures).
std::optional<fs::path> SharedFixtures();
// A Boost.Test precondition: skip when the shared fixtures are absent.
struct RequiresSharedFixtures {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const;
};

// tests/h5py_oracle.py's JSON about `file`: h5py (Debian's python3-h5py),
// an independent reader, on every version and every hash table row. It
// retries opening for up to `wait_seconds` while another process holds
// FILE's lock.
boost::property_tree::ptree H5pyOracle(const fs::path& file, int wait_seconds = 0);
// The child of `tree` named `key`, whatever characters (dots) the key holds.
const boost::property_tree::ptree& At(const boost::property_tree::ptree& tree,
                                      const std::string& key);

// Runs `checks`; a failed BOOST_TEST_REQUIRE (already reported) or an
// exception (reported here) ends `checks` only, so a loop over fixtures or
// versions goes on with the next one.
void Isolated(const std::function<void()>& checks);

// Runs `vh5 verify` on `file`: fails the test, with verify's report, unless
// every invariant of the format holds.
void VerifyClean(const fs::path& file);

}  // namespace vh5test
