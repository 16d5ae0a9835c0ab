// staging/ as everyday tools use it, through a real mount: files renamed
// over datasets (rsync, editors), datasets made again at a path the file
// knows, metadata set before, between or after the bytes (tar, rsync -X,
// cp -a, setfattr), and a failed commit that says why.
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <string>

#include "test_util.h"

using namespace vh5test;

namespace {

int RenameErrno(const fs::path& from, const fs::path& to) {
  errno = 0;
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : errno;
}

int SetXErrno(const fs::path& path, const std::string& name, const std::string& value) {
  errno = 0;
  return ::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0 ? 0 : errno;
}

std::string X(const fs::path& path, const std::string& name) {
  return GetXattr(path, name).value_or("<none>");
}

// `rows` x `cols` little-endian int32 elements, each its own index + `base`.
std::string Int32Matrix(int rows, int cols, int base) {
  std::string out;
  for (int i = 0; i < rows * cols; ++i) {
    int32_t v = base + i;
    out.append(reinterpret_cast<const char*>(&v), 4);
  }
  return out;
}

struct DemoMount {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  std::unique_ptr<Mount> mount;
  fs::path staging, versions;
  DemoMount() {
    Sh({Vh5Binary(), "demo", file.string()});
    mount = std::make_unique<Mount>(file);
    staging = mount->root() / "staging";
    versions = mount->root() / "versions";
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_tools)

// rsync, sed -i and editors write a new file and rename it over the old one.
BOOST_AUTO_TEST_CASE(a_file_renamed_over_a_dataset_is_that_dataset_with_new_content) {
  DemoMount d;
  std::string attrs_before = X(d.staging / "prices", "user.h5.units");
  std::string bytes = Int32Matrix(250, 40, 7);
  WriteFile(d.staging / ".matrix.tmp", bytes);
  BOOST_TEST(X(d.staging / ".matrix.tmp", "user.vh5.dtype") == "|u1");
  BOOST_TEST_REQUIRE(RenameErrno(d.staging / ".matrix.tmp", d.staging / "matrix") == 0);
  fs::path m = d.staging / "matrix";
  BOOST_TEST(X(m, "user.vh5.dtype") == "<i4");
  BOOST_TEST(X(m, "user.vh5.shape") == "250,40");
  BOOST_TEST(X(m, "user.vh5.chunks") == "100,16");
  // Attributes come along: prices keeps its own through a rename too.
  WriteFile(d.staging / "p.tmp", ReadFile(d.staging / "prices"));
  BOOST_TEST_REQUIRE(RenameErrno(d.staging / "p.tmp", d.staging / "prices") == 0);
  BOOST_TEST(X(d.staging / "prices", "user.h5.units") == attrs_before);
  BOOST_TEST(X(d.staging / "prices", "user.vh5.dtype") == "<f8");
  // Bytes that are not whole rows of it: refused at the rename, nothing moves.
  WriteFile(d.staging / "odd.tmp", std::string(4 * 40 * 3 + 4, '\1'));
  BOOST_TEST(RenameErrno(d.staging / "odd.tmp", d.staging / "matrix") == EINVAL);
  BOOST_TEST(fs::exists(d.staging / "odd.tmp"));
  fs::remove(d.staging / "odd.tmp");
  BOOST_TEST_REQUIRE(RenameErrno(d.staging, d.versions / "r") == 0);
  BOOST_TEST(ReadFile(d.versions / "r/matrix") == bytes);
  BOOST_TEST(X(d.versions / "r/matrix", "user.vh5.shape") == "250,40");
}

// rm then write again, or a path only an earlier version had: the file's raw_data decides.
BOOST_AUTO_TEST_CASE(a_dataset_made_again_at_a_known_path_takes_the_stored_layout) {
  DemoMount d;
  std::string bytes = Int32Matrix(300, 40, 1);
  fs::remove(d.staging / "matrix");
  WriteFile(d.staging / "matrix", bytes);
  BOOST_TEST(X(d.staging / "matrix", "user.vh5.dtype") == "<i4");
  BOOST_TEST(X(d.staging / "matrix", "user.vh5.shape") == "300,40");
  // Gone from the base, kept in raw_data: the dtype, chunks and fill value are raw_data's.
  fs::remove(d.staging / "prices");
  BOOST_TEST_REQUIRE(RenameErrno(d.staging, d.versions / "without") == 0);
  BOOST_TEST(!fs::exists(d.staging / "prices"));
  WriteFile(d.staging / "prices", std::string(8 * 10, '\0'));
  BOOST_TEST(X(d.staging / "prices", "user.vh5.dtype") == "<f8");
  BOOST_TEST(X(d.staging / "prices", "user.vh5.shape") == "10");
  BOOST_TEST(X(d.staging / "prices", "user.vh5.chunks") == "4096");
  // Another dtype there cannot be stored: refused when set, not at the commit.
  BOOST_TEST(SetXErrno(d.staging / "prices", "user.vh5.dtype", "<i2") == EINVAL);
  BOOST_TEST(SetXErrno(d.staging / "prices", "user.vh5.chunks", "100") == EINVAL);
  WriteFile(d.staging / "t.tmp", std::string(8, '\0'));
  SetX(d.staging / "t.tmp", "user.vh5.dtype", "<i8");
  BOOST_TEST(RenameErrno(d.staging / "t.tmp", d.staging / "prices") == EINVAL);
  BOOST_TEST_REQUIRE(RenameErrno(d.staging, d.versions / "again") == 0);
  BOOST_TEST(X(d.versions / "again/prices", "user.vh5.dtype") == "<f8");
}

// tar --xattrs sets every xattr before it writes; rsync -X after, in name order.
BOOST_AUTO_TEST_CASE(metadata_set_in_any_order_describes_the_bytes) {
  DemoMount d;
  std::string bytes = Int32Matrix(30, 6, 3);
  // Before the bytes, shape first (any order): the shape waits for the bytes.
  fs::path a = d.staging / "a";
  WriteFile(a, "");
  SetX(a, "user.vh5.shape", "30,6");
  SetX(a, "user.vh5.dtype", "<i4");
  SetX(a, "user.vh5.chunks", "10,6");
  SetX(a, "user.vh5.fillvalue", "-1");
  BOOST_TEST(fs::file_size(a) == bytes.size());
  WriteFile(a, bytes);
  // After the bytes, as rsync -X: chunks (of rank 2) before dtype and shape.
  fs::path b = d.staging / "b";
  WriteFile(b, bytes);
  SetX(b, "user.vh5.chunks", "10,6");
  SetX(b, "user.vh5.compression", "gzip:4");
  SetX(b, "user.vh5.dtype", "<i4");
  SetX(b, "user.vh5.shape", "30,6");
  for (const fs::path& p : {a, b}) {
    BOOST_TEST(X(p, "user.vh5.shape") == "30,6");
    BOOST_TEST(X(p, "user.vh5.chunks") == "10,6");
    BOOST_TEST(ReadFile(p) == bytes);
  }
  // vlen strings, shape before the lines.
  fs::path s = d.staging / "s";
  WriteFile(s, "");
  SetX(s, "user.vh5.dtype", "vlen-str");
  SetX(s, "user.vh5.shape", "2,2");
  WriteFile(s, "a\nb\nc\nd\n");
  BOOST_TEST(X(s, "user.vh5.shape") == "2,2");
  BOOST_TEST_REQUIRE(RenameErrno(d.staging, d.versions / "r") == 0);
  BOOST_TEST(X(d.versions / "r/a", "user.vh5.fillvalue") == "-1");
  BOOST_TEST(X(d.versions / "r/b", "user.vh5.compression") == "gzip:4");
  BOOST_TEST(ReadFile(d.versions / "r/b") == bytes);
  BOOST_TEST(ReadFile(d.versions / "r/s") == "a\nb\nc\nd\n");
}

BOOST_AUTO_TEST_CASE(inconsistent_ranks_are_refused_when_set) {
  DemoMount d;
  fs::path a = d.staging / "a";
  WriteFile(a, std::string(16, '\0'));
  SetX(a, "user.vh5.shape", "16");
  BOOST_TEST(SetXErrno(a, "user.vh5.chunks", "2,2") == EINVAL);
  BOOST_TEST(X(a, "user.vh5.chunks") != "2,2");
  // An existing dataset's rank is its raw_data's.
  BOOST_TEST(SetXErrno(d.staging / "matrix", "user.vh5.shape", "12000") == EINVAL);
  fs::path b = d.staging / "b";
  WriteFile(b, std::string(16, '\0'));
  SetX(b, "user.vh5.chunks", "2");
  BOOST_TEST(SetXErrno(b, "user.vh5.shape", "4,4") == EINVAL);
}

// mv prints only the errno: the reason is an xattr of staging/.
BOOST_AUTO_TEST_CASE(a_failed_commit_says_why_in_commit_error) {
  DemoMount d;
  BOOST_TEST(!GetXattr(d.staging, "user.vh5.commit_error").has_value());
  fs::path a = d.staging / "a";
  WriteFile(a, std::string(16, '\0'));
  SetX(a, "user.vh5.chunks", "2,2");  // a rank still open: no shape was set
  // EPERM, not EINVAL: mv would print "a subdirectory of itself".
  BOOST_TEST(RenameErrno(d.staging, d.versions / "r") == EPERM);
  std::string why = X(d.staging, "user.vh5.commit_error");
  BOOST_TEST(why.find("chunks") != std::string::npos, why);
  BOOST_TEST(!fs::exists(d.versions / "r"));
  CommandResult mv = Run({"/bin/mv", "-T", d.staging.string(), (d.versions / "r").string()});
  BOOST_TEST(mv.err.find("subdirectory") == std::string::npos, mv.err);
  SetX(a, "user.vh5.shape", "4,4");
  BOOST_TEST(RenameErrno(d.staging, d.versions / "r") == 0);
  BOOST_TEST(!GetXattr(d.staging, "user.vh5.commit_error").has_value());
  // A taken name: EEXIST, and the reason too.
  WriteFile(d.staging / "b", "x");
  BOOST_TEST(RenameErrno(d.staging, d.versions / "r") == EEXIST);
  BOOST_TEST(GetXattr(d.staging, "user.vh5.commit_error").has_value());
}

// What copies of a version carry: dataset facts and attributes, not the
// version's own name and time; rsync -X removes what its source lacks.
BOOST_AUTO_TEST_CASE(copies_of_a_version_carry_no_version_metadata_onto_staging) {
  DemoMount d;
  fs::path v1 = d.versions / "v1";
  std::vector<std::string> listed = ListXattrs(v1);
  BOOST_TEST((std::find(listed.begin(), listed.end(), "user.vh5.timestamp") == listed.end()));
  BOOST_TEST(X(v1, "user.vh5.prev_version") == "__first_version__");
  BOOST_TEST(X(v1, "user.vh5.timestamp") != "<none>");
  BOOST_TEST(::removexattr(d.staging.c_str(), "user.vh5.make_current") == 0);
  BOOST_TEST(::removexattr(d.staging.c_str(), "user.vh5.prev_version") == 0);
  BOOST_TEST(X(d.staging, "user.vh5.prev_version") == "v3");
  BOOST_TEST(::removexattr((d.staging / "names").c_str(), "user.vh5.fillvalue") == 0);
  CommandResult rsync =
      Run({"/usr/bin/rsync", "-aX", "--delete", v1.string() + "/", d.staging.string() + "/"});
  BOOST_TEST(rsync.exit_status == 0, rsync.err);
  BOOST_TEST(X(d.staging, "user.vh5.prev_version") == "v3");
  BOOST_TEST(!GetXattr(d.staging, "user.vh5.timestamp").has_value());
  BOOST_TEST_REQUIRE(RenameErrno(d.staging, d.versions / "back") == 0);
  BOOST_TEST((AllContents(d.versions / "back") == AllContents(v1)));
  BOOST_TEST(X(d.versions / "back", "user.vh5.prev_version") == "v3");
}

BOOST_AUTO_TEST_SUITE_END()
