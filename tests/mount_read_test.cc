// Real mounts of every fixture, walked with ordinary file calls and compared
// against manifest.json; read-only behaviour; refusal of bad files.
#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <set>
#include <sstream>

#include "manifest.h"
#include "test_util.h"
#include "vh5/timestamp.h"

using namespace vh5test;

namespace {

std::string Xattr(const fs::path& path, const std::string& name) {
  return GetXattr(path, name).value_or("<absent>");
}

void CheckStringAttrs(const fs::path& node, const std::vector<ManifestAttr>& attrs) {
  for (const ManifestAttr& a : attrs) {
    BOOST_TEST_CONTEXT("attribute " << a.name) {
      if (a.typed) {
        BOOST_TEST(Xattr(node, "user.vh5.h5type." + a.name) == a.dtype);
        BOOST_TEST(std::stod(Xattr(node, "user.h5." + a.name)) == std::stod(a.value));
      } else {
        BOOST_TEST(Xattr(node, "user.h5." + a.name) == a.value);
        BOOST_TEST(!GetXattr(node, "user.vh5.h5type." + a.name).has_value());
      }
    }
  }
}

void CheckVersionTree(const fs::path& dir, const ManifestVersion& want) {
  BOOST_TEST(Xattr(dir, "user.vh5.prev_version") == want.prev_version);
  BOOST_TEST(Xattr(dir, "user.vh5.timestamp") == want.timestamp);
  struct stat st;
  BOOST_TEST_REQUIRE(::stat(dir.c_str(), &st) == 0);
  int64_t ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  BOOST_TEST(ns == vh5::ParseTimestamp(want.timestamp).value());

  std::set<std::string> groups, datasets;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::relative(entry.path(), dir).string();
    if (entry.is_directory()) {
      groups.insert(rel);
    } else {
      BOOST_TEST(entry.is_regular_file());
      datasets.insert(rel);
    }
  }
  std::set<std::string> want_groups, want_datasets;
  for (const auto& [p, a] : want.groups) want_groups.insert(p);
  for (const auto& [p, d] : want.datasets) want_datasets.insert(p);
  BOOST_TEST(groups == want_groups, boost::test_tools::per_element());
  BOOST_TEST(datasets == want_datasets, boost::test_tools::per_element());

  for (const auto& [path, attrs] : want.groups) {
    BOOST_TEST_CONTEXT("group " << path) { CheckStringAttrs(dir / path, attrs); }
  }
  for (const auto& [path, d] : want.datasets) {
    BOOST_TEST_CONTEXT("dataset " << path) {
      fs::path file = dir / path;
      BOOST_TEST(fs::file_size(file) == d.nbytes);
      std::string big = ReadFileInPieces(file, 1 << 20);
      BOOST_TEST(Sha256Hex(big) == d.sha256);
      BOOST_TEST((ReadFileInPieces(file, 4093) == big));
      BOOST_TEST(Xattr(file, "user.vh5.dtype") == d.dtype);
      BOOST_TEST(Xattr(file, "user.vh5.shape") == JoinDims(d.shape));
      BOOST_TEST(Xattr(file, "user.vh5.chunks") == JoinDims(d.chunks));
      if (!d.fill_repr.empty()) BOOST_TEST(Xattr(file, "user.vh5.fillvalue") == d.fill_repr);
      BOOST_TEST(GetXattr(file, "user.vh5.compression").has_value());
      CheckStringAttrs(file, d.attrs);
    }
  }
}

void CheckEveryChangeIsRefused(const fs::path& root, const std::string& version) {
  fs::path dir = root / "versions" / version;
  fs::path some_file;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) some_file = e.path();
  errno = 0;
  BOOST_TEST(::mkdir((dir / "newdir").c_str(), 0755) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(::open((dir / "newfile").c_str(), O_WRONLY | O_CREAT, 0644) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(::setxattr(dir.c_str(), "user.h5.x", "1", 1, 0) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(::rename(dir.c_str(), (root / "versions" / "renamed").c_str()) == -1);
  BOOST_TEST(errno == EROFS);
  BOOST_TEST(::rmdir(dir.c_str()) == -1);
  BOOST_TEST(errno == EROFS);
  if (!some_file.empty()) {
    BOOST_TEST(::open(some_file.c_str(), O_WRONLY) == -1);
    BOOST_TEST(errno == EROFS);
    BOOST_TEST(::open(some_file.c_str(), O_RDWR) == -1);
    BOOST_TEST(errno == EROFS);
    BOOST_TEST(::truncate(some_file.c_str(), 0) == -1);
    BOOST_TEST(errno == EROFS);
    BOOST_TEST(::unlink(some_file.c_str()) == -1);
    BOOST_TEST(errno == EROFS);
    BOOST_TEST(::chmod(some_file.c_str(), 0777) == -1);
    BOOST_TEST(errno == EROFS);
    BOOST_TEST(::removexattr(some_file.c_str(), "user.vh5.dtype") == -1);
    BOOST_TEST(errno == EROFS);
  }
}

// Refusal: exit status 1, exactly one line on stderr, nothing mounted, file unchanged.
void CheckRefused(const fs::path& file, const std::string& why) {
  BOOST_TEST_CONTEXT(why) {
    TempDir dir;
    fs::path mnt = dir.path() / "mnt";
    fs::create_directory(mnt);
    std::string before = fs::exists(file) ? ReadFile(file) : "";
    CommandResult r = Run({Vh5fsBinary(), file.string(), mnt.string()});
    BOOST_TEST(r.exit_status == 1);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, "stderr: " << r.err);
    BOOST_TEST(r.err.rfind("vh5fs: ", 0) == 0);
    BOOST_TEST(!IsMounted(mnt));
    if (!before.empty() || fs::exists(file)) BOOST_TEST((ReadFile(file) == before));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_read)

BOOST_AUTO_TEST_CASE(every_fixture_reads_as_its_manifest_says,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  fs::path fixtures = *SharedFixtures();
  for (const ManifestFile& mf : LoadAllManifests(fixtures)) {
    BOOST_TEST_CONTEXT("fixture " << mf.name) {
      // -o ro: the shared fixtures are never opened for writing.
      Mount mount(fixtures / mf.name, {"-o", "ro"});
      fs::path root = mount.root();
      std::set<std::string> names, want;
      for (const auto& e : fs::directory_iterator(root / "versions"))
        names.insert(e.path().filename().string());
      for (const auto& [name, v] : mf.versions) want.insert(name);
      BOOST_TEST(names == want, boost::test_tools::per_element());
      if (mf.current_version == "__first_version__") {
        BOOST_TEST(!fs::exists(fs::symlink_status(root / "current")));
      } else {
        BOOST_TEST(fs::read_symlink(root / "current").string() == "versions/" + mf.current_version);
        BOOST_TEST(fs::is_directory(root / "current"));
      }
      for (const auto& [name, v] : mf.versions) {
        BOOST_TEST_CONTEXT("version " << name) { CheckVersionTree(root / "versions" / name, v); }
      }
    }
  }
}

// Under versions/ vh5fs itself refuses every change, with staging/ beside it.
BOOST_AUTO_TEST_CASE(versions_refuse_every_change,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path copy = dir.path() / "groups.h5";
  fs::copy_file(*SharedFixtures() / "groups.h5", copy);
  Mount mount(copy);
  BOOST_TEST(fs::is_directory(mount.root() / "staging"));
  for (const char* version : {"v1", "v4"}) CheckEveryChangeIsRefused(mount.root(), version);
}

BOOST_AUTO_TEST_CASE(a_mounted_file_is_never_written,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path copy = dir.path() / "copy.h5";
  fs::copy_file(*SharedFixtures() / "groups.h5", copy);
  std::string before = ReadFile(copy);
  struct stat st_before;
  ::stat(copy.c_str(), &st_before);
  {
    Mount mount(copy);
    for (const auto& e : fs::recursive_directory_iterator(mount.root() / "versions")) {
      if (e.is_regular_file()) ReadFile(e.path());
      ListXattrs(e.path());
    }
  }
  struct stat st_after;
  ::stat(copy.c_str(), &st_after);
  BOOST_TEST((ReadFile(copy) == before));
  BOOST_TEST(st_after.st_mtim.tv_sec == st_before.st_mtim.tv_sec);
  BOOST_TEST(st_after.st_mtim.tv_nsec == st_before.st_mtim.tv_nsec);
}

BOOST_AUTO_TEST_CASE(bad_files_are_refused_before_mounting) {
  TempDir dir;
  WriteFile(dir.path() / "random.h5", std::string(8192, '\x17'));
  WriteFile(dir.path() / "empty.h5", "");
  WritePlainHdf5(dir.path() / "plain.h5", "/_version_data");
  CheckRefused(dir.path() / "random.h5", "random bytes");
  CheckRefused(dir.path() / "empty.h5", "an empty file");
  CheckRefused(dir.path() / "plain.h5", "HDF5 without versioned data");
  CheckRefused(dir.path() / "missing.h5", "a missing file");
  CheckRefused(dir.path(), "a directory");
}

BOOST_AUTO_TEST_CASE(a_bad_mountpoint_is_refused,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  WriteFile(dir.path() / "not-a-dir", "x");
  CommandResult r = Run({Vh5fsBinary(), (*SharedFixtures() / "basic.h5").string(),
                         (dir.path() / "not-a-dir").string()});
  BOOST_TEST(r.exit_status == 1);
  BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  r = Run({Vh5fsBinary()});
  BOOST_TEST(r.exit_status == 1);
}

BOOST_AUTO_TEST_CASE(a_demo_file_reads_through_the_mount_as_h5py_reads_it) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  CommandResult made = Run({Vh5Binary(), "demo", file.string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
  CommandResult oracle = Run(
      {"/usr/bin/python3", std::string(VH5_SOURCE_DIR) + "/tests/h5py_oracle.py", file.string()});
  BOOST_TEST_REQUIRE(oracle.exit_status == 0, oracle.err);
  std::istringstream in(oracle.out);
  boost::property_tree::ptree tree;
  boost::property_tree::read_json(in, tree);
  BOOST_TEST(tree.get<int>("bad_hash_rows") == 0);

  Mount mount(file);
  BOOST_TEST(fs::read_symlink(mount.root() / "current").string() == "versions/v3");
  size_t checked = 0;
  for (const auto& [version, v] : tree.get_child("versions")) {
    for (const auto& [path, d] : v.get_child("datasets")) {
      BOOST_TEST_CONTEXT(version << "/" << path) {
        fs::path node = mount.root() / "versions" / version / path;
        BOOST_TEST(Sha256Hex(ReadFileInPieces(node, 1 << 20)) == d.get<std::string>("sha256"));
        BOOST_TEST(Xattr(node, "user.vh5.shape").size() > 0);
        ++checked;
      }
    }
  }
  BOOST_TEST(checked == 14u);
  BOOST_TEST(Xattr(mount.root() / "versions/v1/sensors", "user.h5.site") == "north field");
  BOOST_TEST(Xattr(mount.root() / "versions/v1/sensors", "user.vh5.h5type.elevation_m") == "<f8");
  BOOST_TEST(Xattr(mount.root() / "versions/v1/sensors/temperature", "user.vh5.compression") ==
             "gzip:4");
  BOOST_TEST(Xattr(mount.root() / "versions/v2/sensors/humidity", "user.vh5.compression") == "lzf");
  BOOST_TEST(Xattr(mount.root() / "versions/v2/sensors/humidity", "user.vh5.fillvalue") == "-1.0");
}

BOOST_AUTO_TEST_SUITE_END()
