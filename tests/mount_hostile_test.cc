// Hostile input through a real mount: a damaged file is refused with one
// line, or mounts with only the damaged dataset failing (EIO and a log
// line) while everything else reads exactly; malformed extended attributes,
// bad names and huge offsets in staging/ fail with a clear errno and change
// nothing, and a commit afterwards still works.
#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstring>
#include <map>

#include "test_util.h"

using namespace vh5test;

namespace {

fs::path MakeDemoFile(const fs::path& file) {
  CommandResult made = Run({Vh5Binary(), "demo", file.string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
  return file;
}

// The whole content of `path` through open(2) and read(2), or the errno of
// the first call that failed.
struct ReadResult {
  int err = 0;
  std::string data;
};
ReadResult ReadErrno(const fs::path& path) {
  ReadResult r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    r.err = errno;
    return r;
  }
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      r.err = errno;
      break;
    }
    if (n == 0) break;
    r.data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return r;
}

// Every dataset file under versions/ of a mount, by relative path.
std::map<std::string, std::string> VersionFiles(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root / "versions")) {
    std::error_code ec;
    if (!fs::is_regular_file(e.path(), ec)) continue;
    out[fs::relative(e.path(), root).string()] = Sha256Hex(ReadFile(e.path()));
  }
  return out;
}

// The file address of the object header of `path` in `file`.
uint64_t HeaderAddress(const fs::path& file, const std::string& path) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  BOOST_TEST_REQUIRE(f >= 0);
  H5O_info_t info;
  herr_t got = H5Oget_info_by_name2(f, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT);
  H5Fclose(f);
  BOOST_TEST_REQUIRE(got >= 0);
  return info.addr;
}

void Patch(const fs::path& file, uint64_t offset, const std::string& bytes) {
  int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST_REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                     static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

std::string ByteAt(const fs::path& file, uint64_t offset) {
  return ReadFile(file).substr(offset, 1);
}

// Mounts `bad`, a damaged copy of `good`: the datasets under `broken` (a
// path relative to the mount: a dataset, or a version's directory) fail
// with EIO and a log line holding `why`; every other dataset of every
// version reads exactly as in `good`, and a commit works.
void CheckOnlyBroken(const fs::path& good, const fs::path& bad, const std::string& broken,
                     const std::string& why) {
  std::map<std::string, std::string> want;
  {
    Mount mount(good, {"-o", "ro"});
    want = VersionFiles(mount.root());
  }
  Mount mount(bad);
  size_t exact = 0, failed = 0;
  for (const auto& [rel, sha] : want) {
    ReadResult r = ReadErrno(mount.root() / rel);
    if (rel == broken || rel.rfind(broken + "/", 0) == 0) {
      BOOST_TEST(r.err == EIO, rel << ": " << strerror(r.err));
      ++failed;
      continue;
    }
    BOOST_TEST(r.err == 0, rel << ": " << strerror(r.err));
    BOOST_TEST(Sha256Hex(r.data) == sha, rel << " reads differently");
    ++exact;
  }
  BOOST_TEST(failed > 0u);
  BOOST_TEST(exact > 0u);
  std::string log = mount.Log();
  BOOST_TEST(log.find(why) != std::string::npos, "log: " << log);
  // Every log line is one line of vh5fs's own.
  for (size_t at = 0; at < log.size(); at = log.find('\n', at) + 1)
    BOOST_TEST(log.compare(at, 7, "vh5fs: ") == 0, "log: " << log);
  // Staging and commits are untouched by the damage elsewhere.
  fs::path staging = mount.root() / "staging";
  WriteFile(staging / "after_damage", "12345678");
  BOOST_TEST(::rename(staging.c_str(), (mount.root() / "versions/v4").c_str()) == 0,
             strerror(errno));
  BOOST_TEST(ReadFile(mount.root() / "versions/v4/after_damage") == "12345678");
  BOOST_TEST(ReadFile(mount.root() / "versions/v4/prices") ==
             ReadFile(mount.root() / "versions/v3/prices"));
}

// A copy of `good` beside it, "bad.h5", damaged by tests/damage_file.py with `damage`.
fs::path DamagedCopy(const fs::path& good, const std::vector<std::string>& damage) {
  fs::path bad = good.parent_path() / "bad.h5";
  fs::copy_file(good, bad);
  std::vector<std::string> args = {"/usr/bin/python3",
                                   std::string(VH5_SOURCE_DIR) + "/tests/damage_file.py", bad};
  args.insert(args.end(), damage.begin(), damage.end());
  CommandResult r = Run(args);
  BOOST_TEST_REQUIRE(r.exit_status == 0, "damage_file.py: " << r.err);
  return bad;
}

// A call that must fail with `want`; errno is the call's.
void ExpectErrno(const char* call, long result, int want) {
  int err = errno;
  BOOST_TEST(result == -1, call << " fails");
  BOOST_TEST(err == want, call << ": " << strerror(err) << ", not " << strerror(want));
}
#define EXPECT_ERRNO(call, want) (errno = 0, ExpectErrno(#call, (call), (want)))

std::map<std::string, std::string> Xattrs(const fs::path& p) {
  std::map<std::string, std::string> out;
  for (const std::string& name : ListXattrs(p)) out[name] = GetXattr(p, name).value_or("<gone>");
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_hostile)

BOOST_AUTO_TEST_CASE(a_truncated_file_is_refused_with_one_line) {
  TempDir dir;
  fs::path demo = MakeDemoFile(dir.path() / "demo.h5");
  uint64_t size = fs::file_size(demo);
  for (uint64_t keep : {size / 2, uint64_t{4096}, uint64_t{100}}) {
    fs::path cut = dir.path() / ("cut" + std::to_string(keep) + ".h5");
    fs::copy_file(demo, cut);
    fs::resize_file(cut, keep);
    CheckMountRefused(cut, "truncated to " + std::to_string(keep) + " bytes", cut.string());
  }
}

// One dataset's object header is damaged (a message longer than its
// header): HDF5 would read past it. The engine cannot tell what that object
// is, so its version's tree cannot be built: that version fails, alone.
BOOST_AUTO_TEST_CASE(a_corrupt_object_header_fails_that_version_alone) {
  TempDir dir;
  fs::path good = MakeDemoFile(dir.path() / "good.h5");
  fs::path bad = dir.path() / "bad.h5";
  fs::copy_file(good, bad);
  uint64_t header = HeaderAddress(bad, "/_version_data/versions/v1/prices");
  BOOST_TEST_REQUIRE(ByteAt(bad, header) == std::string(1, '\x01'));  // a version 1 header
  Patch(bad, header + 16 + 2, std::string("\xf8\xff", 2));            // first message's size
  CheckOnlyBroken(good, bad, "versions/v1", "Corruption");
}

// A version's mapping reads raw_data far outside its shape.
BOOST_AUTO_TEST_CASE(a_mapping_out_of_range_fails_that_dataset_alone) {
  TempDir dir;
  fs::path good = MakeDemoFile(dir.path() / "good.h5");
  fs::path bad = DamagedCopy(good, {"mapping-shift", "v2", "prices", "1", "1000000"});
  CheckOnlyBroken(good, bad, "versions/v2/prices", "outside");
}

// Hard links that make a cycle inside a version: that version cannot be
// shown as a tree (it would be infinite), so it fails, alone and at once.
BOOST_AUTO_TEST_CASE(a_group_cycle_fails_that_version_alone) {
  TempDir dir;
  fs::path good = MakeDemoFile(dir.path() / "good.h5");
  fs::path bad = DamagedCopy(good, {"group-cycle", "/_version_data/versions/v1/sensors"});
  CheckOnlyBroken(good, bad, "versions/v1", "a group linked a second time");
}

// Groups nested 20,000 deep (once a stack overflow in every walk): the
// version holding them fails alone.
BOOST_AUTO_TEST_CASE(groups_nested_too_deep_fail_that_version_alone) {
  TempDir dir;
  fs::path good = MakeDemoFile(dir.path() / "good.h5");
  fs::path bad = DamagedCopy(good, {"deep-groups", "/_version_data/versions/v2", "20000"});
  CheckOnlyBroken(good, bad, "versions/v2", "groups nested deeper than 512 levels");
}

BOOST_AUTO_TEST_CASE(malformed_xattrs_and_names_in_staging_change_nothing) {
  TempDir dir;
  fs::path file = MakeDemoFile(dir.path() / "demo.h5");
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  fs::path fresh = staging / "fresh";
  WriteFile(fresh, std::string(16, '\x05'));
  fs::path prices = staging / "prices";
  std::string prices_before = ReadFile(prices);
  auto fresh_xattrs = Xattrs(fresh), prices_xattrs = Xattrs(prices);

  struct Bad {
    std::string name, value;
  };
  const std::vector<Bad> on_fresh = {
      {"user.vh5.dtype", "<f9"},
      {"user.vh5.dtype", ""},
      {"user.vh5.dtype", "[('x', '<i4'"},
      {"user.vh5.dtype", "|S99999999999999999999"},
      {"user.vh5.dtype", "<i8"},  // 16 bytes, fine; but see shape below
      {"user.vh5.shape", "abc"},
      {"user.vh5.shape", "-1"},
      {"user.vh5.shape", "1,,2"},
      {"user.vh5.shape", "99999999999999999999999"},
      {"user.vh5.shape", "4611686018427387904"},
      {"user.vh5.shape", "4294967296,4294967296,4294967296"},
      {"user.vh5.chunks", "0"},
      {"user.vh5.chunks", "-3"},
      {"user.vh5.chunks", "1e3"},
      {"user.vh5.chunks", "18446744073709551616"},
      {"user.vh5.chunks", "4294967296,4294967296"},
      {"user.vh5.fillvalue", "'abc'"},
      {"user.vh5.fillvalue", "1.5.3"},
      {"user.vh5.fillvalue", "("},
      {"user.vh5.fillvalue", "99999999999999999999999999"},
      {"user.vh5.compression", "zip:9"},
      {"user.vh5.compression", "gzip:99"},
      {"user.vh5.compression", "gzip:4,gzip:4,shuffle,nonsense"},
  };
  for (const Bad& b : on_fresh) {
    if (b.value == "<i8") continue;  // valid: only there to show the list covers dtype
    BOOST_TEST_CONTEXT(b.name << "=" << b.value) {
      errno = 0;
      int rc = ::setxattr(fresh.c_str(), b.name.c_str(), b.value.data(), b.value.size(), 0);
      int err = errno;
      BOOST_TEST(rc == -1);
      BOOST_TEST((err == EINVAL || err == EOPNOTSUPP || err == EFBIG), strerror(err));
      BOOST_TEST((Xattrs(fresh) == fresh_xattrs));
      BOOST_TEST(ReadFile(fresh) == std::string(16, '\x05'));
    }
  }
  // On a dataset of the base version: a huge shape or a bad attribute type.
  const std::vector<Bad> on_prices = {
      {"user.vh5.shape", "4611686018427387904"},
      {"user.vh5.shape", "18446744073709551615"},
      {"user.vh5.shape", "12,34"},
      {"user.vh5.h5type.note", "(99999999999,)<i8"},
      {"user.vh5.h5type.note", "<q99"},
  };
  for (const Bad& b : on_prices) {
    BOOST_TEST_CONTEXT(b.name << "=" << b.value) {
      errno = 0;
      int rc = ::setxattr(prices.c_str(), b.name.c_str(), b.value.data(), b.value.size(), 0);
      int err = errno;
      BOOST_TEST(rc == -1);
      BOOST_TEST((err == EINVAL || err == EOPNOTSUPP || err == EFBIG), strerror(err));
      BOOST_TEST((Xattrs(prices) == prices_xattrs));
    }
  }
  // Names outside the user.vh5 and user.h5 sets, an empty attribute name,
  // attributes reserved for the version itself.
  EXPECT_ERRNO(::setxattr(prices.c_str(), "user.vh5.nonsense", "1", 1, 0), EINVAL);
  EXPECT_ERRNO(::setxattr(prices.c_str(), "user.h5.", "1", 1, 0), EINVAL);
  EXPECT_ERRNO(::setxattr(staging.c_str(), "user.h5.prev_version", "v1", 2, 0), EINVAL);
  EXPECT_ERRNO(::setxattr(staging.c_str(), "user.vh5.make_current", "maybe", 5, 0), EINVAL);
  EXPECT_ERRNO(::setxattr(staging.c_str(), "user.vh5.prev_version", "nope", 4, 0), EBUSY);
  // Names longer than NAME_MAX: no disk filesystem could hold a copy.
  std::string long_name(300, 'n');
  EXPECT_ERRNO(::open((staging / long_name).c_str(), O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
  EXPECT_ERRNO(::mkdir((staging / long_name).c_str(), 0755), ENAMETOOLONG);
  EXPECT_ERRNO(::rename(fresh.c_str(), (staging / long_name).c_str()), ENAMETOOLONG);
  EXPECT_ERRNO(::rename(staging.c_str(), (mount.root() / "versions" / long_name).c_str()),
               ENAMETOOLONG);
  BOOST_TEST(ReadFile(prices) == prices_before);

  // A value its type cannot hold: either may be set first, so the commit
  // refuses it (EPERM: mv reads EINVAL as "a subdirectory of itself"), says
  // why in user.vh5.commit_error, and staging keeps every change.
  BOOST_TEST(::setxattr(prices.c_str(), "user.h5.note", "abc", 3, 0) == 0);
  BOOST_TEST(::setxattr(prices.c_str(), "user.vh5.h5type.note", "<f8", 3, 0) == 0);
  fs::path v4 = mount.root() / "versions/v4";
  EXPECT_ERRNO(::rename(staging.c_str(), v4.c_str()), EPERM);
  BOOST_TEST(!fs::exists(v4));
  BOOST_TEST(GetXattr(staging, "user.vh5.commit_error").value_or("").find("note") !=
             std::string::npos);
  BOOST_TEST(mount.Log().find("note") != std::string::npos, mount.Log());
  BOOST_TEST(ReadFile(fresh) == std::string(16, '\x05'));
  BOOST_TEST(::setxattr(prices.c_str(), "user.h5.note", "2.5", 3, 0) == 0);

  // Nothing was lost: the commit holds the fresh file as |u1 bytes and
  // prices as it was.
  BOOST_TEST(::rename(staging.c_str(), v4.c_str()) == 0, strerror(errno));
  BOOST_TEST(ReadFile(mount.root() / "versions/v4/fresh") == std::string(16, '\x05'));
  BOOST_TEST(GetXattr(mount.root() / "versions/v4/fresh", "user.vh5.dtype").value_or("") == "|u1");
  BOOST_TEST(ReadFile(mount.root() / "versions/v4/prices") == prices_before);
  BOOST_TEST(GetXattr(mount.root() / "versions/v4/prices", "user.h5.note").value_or("") == "2.5");
  BOOST_TEST(GetXattr(mount.root() / "versions/v4/prices", "user.vh5.h5type.note").value_or("") ==
             "<f8");
}

BOOST_AUTO_TEST_CASE(huge_offsets_and_partial_rows_give_clear_errors_and_lose_nothing) {
  TempDir dir;
  fs::path file = MakeDemoFile(dir.path() / "demo.h5");
  Mount mount(file);
  fs::path staging = mount.root() / "staging";
  fs::path prices = staging / "prices";
  std::string before = ReadFile(prices);
  const off_t huge = off_t{1} << 62;
  char buf[64] = {};

  int fd = ::open(prices.c_str(), O_RDWR | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  // Reads past the end: nothing, no error.
  BOOST_TEST(::pread(fd, buf, sizeof buf, huge) == 0);
  // (past 2^63 - 1 the kernel refuses the read itself).
  errno = 0;
  ssize_t n = ::pread(fd, buf, sizeof buf, std::numeric_limits<off_t>::max() - 8);
  BOOST_TEST((n == 0 || errno == EINVAL || errno == EOVERFLOW), strerror(errno));
  // Writes and truncations there: refused at once, the size unchanged.
  EXPECT_ERRNO(::pwrite(fd, buf, 8, huge), EINVAL);
  errno = 0;
  BOOST_TEST(::pwrite(fd, buf, 8, std::numeric_limits<off_t>::max() - 4) == -1);
  BOOST_TEST((errno == EFBIG || errno == EINVAL), strerror(errno));
  EXPECT_ERRNO(::ftruncate(fd, huge), EINVAL);
  struct stat st;
  BOOST_TEST(::fstat(fd, &st) == 0);
  BOOST_TEST(static_cast<uint64_t>(st.st_size) == before.size());
  BOOST_TEST(::close(fd) == 0);
  // The same on a committed version: nothing to read, nothing writable.
  fs::path committed = mount.root() / "versions/v1/prices";
  fd = ::open(committed.c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST(::pread(fd, buf, sizeof buf, huge) == 0);
  ::close(fd);

  // A partial row: close says EINVAL, the last valid content stays.
  fd = ::open(prices.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST(::write(fd, "abc", 3) == 3);
  EXPECT_ERRNO(::close(fd), EINVAL);
  BOOST_TEST(ReadFile(prices) == before);

  // Nothing was lost: a change made after all that commits whole.
  fd = ::open(prices.c_str(), O_WRONLY | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  double v = 42.5;
  BOOST_TEST(::pwrite(fd, &v, 8, 16) == 8);
  BOOST_TEST(::close(fd) == 0);
  std::string want = before;
  std::memcpy(want.data() + 16, &v, 8);
  BOOST_TEST(::rename(staging.c_str(), (mount.root() / "versions/v4").c_str()) == 0,
             strerror(errno));
  BOOST_TEST(ReadFile(mount.root() / "versions/v4/prices") == want);
  BOOST_TEST(ReadFile(mount.root() / "versions/v3/prices") == before);
}

BOOST_AUTO_TEST_SUITE_END()
