// Real mounts of every fixture, read-only and read-write, walked with
// ordinary file calls (readdir, stat, read, pread, readlink, getxattr,
// listxattr) and compared against manifest.json; concurrent readers; a file
// made by `vh5 demo` compared against h5py.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "manifest.h"
#include "test_util.h"
#include "vh5/metadata.h"
#include "vh5/timestamp.h"
#include "vh5/writer.h"

using namespace vh5test;

namespace {

std::string Xattr(const fs::path& path, const std::string& name) {
  return GetXattr(path, name).value_or("<absent>");
}

// The names listxattr(2) gives that start with `prefix`.
std::set<std::string> XattrNames(const fs::path& path, const std::string& prefix) {
  std::set<std::string> out;
  for (const std::string& name : ListXattrs(path))
    if (name.rfind(prefix, 0) == 0) out.insert(name);
  return out;
}

void CheckAttrs(const fs::path& node, const std::vector<ManifestAttr>& attrs) {
  std::set<std::string> want;
  for (const ManifestAttr& a : attrs) {
    want.insert("user.h5." + a.name);
    BOOST_TEST_CONTEXT("attribute " << a.name) {
      if (a.typed) {
        BOOST_TEST(Xattr(node, "user.vh5.h5type." + a.name) == a.dtype);
        std::string text = Xattr(node, "user.h5." + a.name);
        BOOST_TEST(TypedValueMatches(text, a.value), text << " is " << a.value);
      } else {
        BOOST_TEST(Xattr(node, "user.h5." + a.name) == a.value);
        BOOST_TEST(!GetXattr(node, "user.vh5.h5type." + a.name).has_value());
      }
    }
  }
  BOOST_TEST(XattrNames(node, "user.h5.") == want, boost::test_tools::per_element());
}

// pread(2) of odd sizes at scattered offsets, some at or past the end.
void CheckScatteredReads(const fs::path& file, const std::string& whole) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0, file << ": " << strerror(errno));
  uint64_t size = whole.size();
  std::vector<uint64_t> offsets = {0, size / 2 + 3, size ? size - 1 : 0, size, size + 1000};
  for (uint64_t x = 99; offsets.size() < 10 && size > 0; x = x * 6364136223846793005ULL + 1)
    offsets.push_back((x >> 17) % size);
  std::vector<char> buf(70001);
  for (uint64_t offset : offsets) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
    size_t want = offset >= size ? 0 : std::min<uint64_t>(buf.size(), size - offset);
    BOOST_TEST(n == static_cast<ssize_t>(want), "pread at " << offset);
    if (n == static_cast<ssize_t>(want) && want > 0)
      BOOST_TEST((std::string(buf.data(), want) == whole.substr(offset, want)),
                 "pread at " << offset);
  }
  ::close(fd);
}

void CheckDataset(const fs::path& file, const ManifestDataset& d) {
  struct stat st;
  BOOST_TEST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST(S_ISREG(st.st_mode));
  BOOST_TEST(static_cast<uint64_t>(st.st_size) == d.nbytes);
  std::string big = ReadFileInPieces(file, 1 << 20);
  BOOST_TEST(big.size() == d.nbytes);
  BOOST_TEST(Sha256Hex(big) == d.sha256);
  BOOST_TEST((ReadFileInPieces(file, 4093) == big));
  if (big.size() <= (64 << 10)) BOOST_TEST((ReadFileInPieces(file, 13) == big));
  CheckScatteredReads(file, big);
  BOOST_TEST(Xattr(file, "user.vh5.dtype") == d.dtype);
  BOOST_TEST(Xattr(file, "user.vh5.shape") == JoinDims(d.shape));
  BOOST_TEST(Xattr(file, "user.vh5.chunks") == JoinDims(d.chunks));
  if (!d.fill_repr.empty()) BOOST_TEST(Xattr(file, "user.vh5.fillvalue") == d.fill_repr);
  BOOST_TEST(GetXattr(file, "user.vh5.compression").has_value());
  std::set<std::string> listed = XattrNames(file, "user.vh5.");
  for (const char* name :
       {"user.vh5.dtype", "user.vh5.shape", "user.vh5.chunks", "user.vh5.compression"})
    BOOST_TEST(listed.count(name) == 1u, name << " is listed");
  if (d.dtype != "vlen-str") BOOST_TEST(listed.count("user.vh5.fillvalue") == 1u);
  CheckAttrs(file, d.attrs);
}

void CheckVersionTree(const fs::path& dir, const ManifestVersion& want) {
  BOOST_TEST(Xattr(dir, "user.vh5.prev_version") == want.prev_version);
  BOOST_TEST(Xattr(dir, "user.vh5.timestamp") == want.timestamp);
  // Read by name, not listed: copies of a version must not carry them onto staging/.
  std::set<std::string> listed = XattrNames(dir, "user.vh5.");
  BOOST_TEST(listed.count("user.vh5.prev_version") == 0u);
  BOOST_TEST(listed.count("user.vh5.timestamp") == 0u);
  struct stat st;
  BOOST_TEST_REQUIRE(::stat(dir.c_str(), &st) == 0);
  BOOST_TEST(S_ISDIR(st.st_mode));
  int64_t ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  BOOST_TEST(ns == vh5::ParseTimestamp(want.timestamp).value());

  std::set<std::string> groups, datasets;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::relative(entry.path(), dir).string();
    if (entry.is_directory()) {
      groups.insert(rel);
    } else {
      BOOST_TEST(entry.is_regular_file(), rel);
      datasets.insert(rel);
    }
  }
  std::set<std::string> want_groups, want_datasets;
  for (const auto& [p, a] : want.groups) want_groups.insert(p);
  for (const auto& [p, d] : want.datasets) want_datasets.insert(p);
  BOOST_TEST(groups == want_groups, boost::test_tools::per_element());
  BOOST_TEST(datasets == want_datasets, boost::test_tools::per_element());

  for (const auto& [path, attrs] : want.groups) {
    BOOST_TEST_CONTEXT("group " << path) { CheckAttrs(dir / path, attrs); }
  }
  for (const auto& [path, d] : want.datasets) {
    BOOST_TEST_CONTEXT("dataset " << path) {
      // Named captures: clang 14 cannot capture structured bindings.
      Isolated([&, &path = path, &d = d] { CheckDataset(dir / path, d); });
    }
  }
}

// The whole mount against the manifest: top level, versions/, current, and
// every version's tree.
void CheckMount(Mount& mount, const ManifestFile& mf, bool read_only) {
  const fs::path& root = mount.root();
  std::set<std::string> top, want_top = {"versions", "zarr", "prev", "at"};
  for (const auto& e : fs::directory_iterator(root)) top.insert(e.path().filename().string());
  if (!read_only) want_top.insert("staging");
  if (mf.current_version != vh5::kFirstVersionName) want_top.insert("current");
  BOOST_TEST(top == want_top, boost::test_tools::per_element());

  std::set<std::string> names, want;
  for (const auto& e : fs::directory_iterator(root / "versions"))
    names.insert(e.path().filename().string());
  for (const auto& [name, v] : mf.versions) want.insert(name);
  BOOST_TEST(names == want, boost::test_tools::per_element());
  if (mf.current_version == vh5::kFirstVersionName) {
    BOOST_TEST(!fs::exists(fs::symlink_status(root / "current")));
  } else {
    BOOST_TEST(fs::is_symlink(root / "current"));
    BOOST_TEST(fs::read_symlink(root / "current").string() == "versions/" + mf.current_version);
    BOOST_TEST(fs::is_directory(root / "current"));
  }
  for (const auto& [name, v] : mf.versions) {
    BOOST_TEST_CONTEXT("version " << name) {
      // Named captures: clang 14 cannot capture structured bindings.
      Isolated([&, &name = name, &v = v] { CheckVersionTree(root / "versions" / name, v); });
      std::string ended = mount.Ended();
      BOOST_TEST_REQUIRE(ended.empty(), ended);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mount_read)

// -o ro on the shared fixtures themselves (the tests may run as root, so
// their read-only mode bits protect nothing): they must stay as they are.
BOOST_AUTO_TEST_CASE(every_fixture_reads_as_its_manifest_says,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& file, const ManifestFile& mf) {
    FileState before = FileState::Of(file);
    {
      Mount mount(file, {"-o", "ro"});
      CheckMount(mount, mf, /*read_only=*/true);
    }
    CheckUnchanged(file, before);
  });
}

// A read-write mount (staging/ beside versions/) of a writable copy shows the
// same, and reading everything leaves the file as it was: same bytes, same
// mtime once the unmount closed it. (While mounted read-write, HDF5 holds its
// lock and sets the superblock's open-for-write flag; the unmount clears it.)
BOOST_AUTO_TEST_CASE(writable_copies_read_the_same_and_stay_unchanged,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& file, const ManifestFile& mf) {
    TempDir dir;
    fs::path copy = dir.path() / "copy.h5";
    fs::copy_file(file, copy);
    FileState before = FileState::Of(copy);
    {
      Mount mount(copy);
      CheckMount(mount, mf, /*read_only=*/false);
    }
    CheckUnchanged(copy, before);
  });
}

// Many readers at once (vh5fs serves requests from several threads): every
// dataset of every version of a fixture, read by 8 threads in different
// orders and piece sizes, hashes as the manifest says.
BOOST_AUTO_TEST_CASE(concurrent_readers_see_the_same_bytes,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  std::vector<ManifestFile> all = LoadAllManifests(*SharedFixtures());
  for (const char* name : {"many_versions.h5", "legacy/object_dtype_bad_hashtable_data2.h5"}) {
    BOOST_TEST_CONTEXT("fixture " << name) {
      auto mf = std::find_if(all.begin(), all.end(),
                             [&](const ManifestFile& f) { return f.name == name; });
      BOOST_TEST_REQUIRE((mf != all.end()));
      std::vector<std::pair<fs::path, std::string>> files;  // relative path, sha256
      for (const auto& [version, v] : mf->versions)
        for (const auto& [path, d] : v.datasets)
          files.emplace_back(fs::path("versions") / version / path, d.sha256);
      Mount mount(*SharedFixtures() / name, {"-o", "ro"});
      constexpr int kThreads = 8;
      std::vector<std::vector<std::string>> wrong(kThreads);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          size_t piece = t % 2 ? 4093 : 65536 + 7 * t;
          for (size_t i = 0; i < files.size(); ++i) {
            const auto& [rel, sha] = files[(i * 7919 + t * files.size() / kThreads) % files.size()];
            try {
              if (Sha256Hex(ReadFileInPieces(mount.root() / rel, piece)) != sha)
                wrong[t].push_back(rel.string() + ": wrong bytes");
            } catch (const std::exception& e) {
              wrong[t].push_back(e.what());
            }
          }
        });
      }
      for (std::thread& th : threads) th.join();
      for (int t = 0; t < kThreads; ++t)
        BOOST_TEST(wrong[t].empty(),
                   "thread " << t << ": " << wrong[t].size()
                             << " bad reads, first: " << (wrong[t].empty() ? "" : wrong[t][0]));
      std::string ended = mount.Ended();
      BOOST_TEST(ended.empty(), ended);
    }
  }
}

// A read-only mount leaves the file to other readers: h5py opens it (HDF5's
// file lock is shared) and finds the same content while it is mounted.
BOOST_AUTO_TEST_CASE(h5py_reads_the_file_while_it_is_mounted_read_only) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  CommandResult made = Run({Vh5Binary(), "demo", file.string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
  Mount mount(file, {"-o", "ro"});
  boost::property_tree::ptree oracle = H5pyOracle(file);
  const auto& v1 = At(At(oracle, "versions"), "v1");
  BOOST_TEST(Sha256Hex(ReadFile(mount.root() / "versions/v1/prices")) ==
             At(At(At(v1, "datasets"), "prices"), "sha256").data());
}

// Without the shared fixtures: `vh5 demo` writes a file, and the mount shows
// what h5py (the independent reader) finds in /_version_data/versions/<name>.
BOOST_AUTO_TEST_CASE(a_demo_file_reads_through_the_mount_as_h5py_reads_it) {
  using boost::property_tree::ptree;
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  CommandResult made = Run({Vh5Binary(), "demo", file.string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
  ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  FileState before = FileState::Of(file);

  {
    Mount mount(file);
    fs::path versions = mount.root() / "versions";
    BOOST_TEST(fs::read_symlink(mount.root() / "current").string() ==
               "versions/" + oracle.get<std::string>("current_version"));
    std::set<std::string> names, want_names;
    for (const auto& e : fs::directory_iterator(versions)) names.insert(e.path().filename());
    for (const auto& [name, v] : At(oracle, "versions")) want_names.insert(name);
    BOOST_TEST(names == want_names, boost::test_tools::per_element());
    size_t checked = 0;
    for (const auto& [version, v] : At(oracle, "versions")) {
      BOOST_TEST_CONTEXT("version " << version) {
        fs::path root = versions / version;
        BOOST_TEST(Xattr(root, "user.vh5.prev_version") == At(v, "prev_version").data());
        std::set<std::string> files, want_files, groups, want_groups;
        for (const auto& e : fs::recursive_directory_iterator(root))
          (e.is_directory() ? groups : files).insert(fs::relative(e.path(), root).string());
        for (const auto& [path, d] : At(v, "datasets")) want_files.insert(path);
        for (const auto& [path, attrs] : At(v, "groups")) {
          want_groups.insert(path);
          for (const auto& [name, text] : attrs)
            BOOST_TEST(Xattr(root / path, "user.h5." + name) == text.data(), path << " " << name);
        }
        BOOST_TEST(files == want_files, boost::test_tools::per_element());
        BOOST_TEST(groups == want_groups, boost::test_tools::per_element());
        for (const auto& [path, d] : At(v, "datasets")) {
          BOOST_TEST_CONTEXT("dataset " << path) {
            fs::path node = root / path;
            std::string big = ReadFileInPieces(node, 1 << 20);
            BOOST_TEST(Sha256Hex(big) == At(d, "sha256").data());
            BOOST_TEST((ReadFileInPieces(node, 4093) == big));
            BOOST_TEST(fs::file_size(node) == big.size());
            std::vector<uint64_t> shape;
            for (const auto& [k, n] : At(d, "shape")) shape.push_back(std::stoull(n.data()));
            BOOST_TEST(Xattr(node, "user.vh5.shape") == JoinDims(shape));
            for (const auto& [name, text] : At(d, "attrs"))
              BOOST_TEST(Xattr(node, "user.h5." + name) == text.data(), name);
            std::string dtype = At(d, "dtype").data();
            bool numeric = dtype.rfind("float", 0) == 0 || dtype.rfind("int", 0) == 0 ||
                           dtype.rfind("uint", 0) == 0 || dtype == "bool";
            if (numeric) BOOST_TEST(Xattr(node, "user.vh5.fillvalue") == At(d, "fillvalue").data());
            ++checked;
          }
        }
      }
    }
    BOOST_TEST(checked == 14u);
    BOOST_TEST(Xattr(versions / "v1/sensors", "user.h5.site") == "north field");
    BOOST_TEST(Xattr(versions / "v1/sensors", "user.vh5.h5type.elevation_m") == "<f8");
    BOOST_TEST(Xattr(versions / "v1/sensors/temperature", "user.vh5.compression") == "gzip:4");
    BOOST_TEST(Xattr(versions / "v2/sensors/humidity", "user.vh5.compression") == "lzf");
    BOOST_TEST(Xattr(versions / "v2/sensors/humidity", "user.vh5.fillvalue") == "-1.0");
    BOOST_TEST(Xattr(versions / "v1/names", "user.vh5.dtype") == "vlen-str");
  }
  CheckUnchanged(file, before);
}

// A version's elements in C order: 8-byte words from a seed, so that no two
// chunks are alike.
std::string Words(size_t count, uint64_t seed) {
  std::string out(count * 8, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < count; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    std::memcpy(&out[i * 8], &x, 8);
  }
  return out;
}

// Every other chunk of `base` replaced by new words.
std::string EveryOtherChunk(std::string base, size_t chunk_bytes, uint64_t seed) {
  std::string fresh = Words(base.size() / 8, seed);
  for (size_t at = 0; at < base.size(); at += 2 * chunk_bytes)
    base.replace(at, std::min(chunk_bytes, base.size() - at), fresh, at, chunk_bytes);
  return base;
}

// Reads near 1 MiB are answered by splicing FILE's bytes when they lie in a
// few runs, and by copying when they lie in more runs than the pipe holds
// pages for (every other 4 KiB chunk changed); gzip chunks are inflated on
// several threads for one read. All give the bytes h5py reads; so does a
// mount whose max_read is too large to splice at all.
BOOST_AUTO_TEST_CASE(large_reads_of_contiguous_and_scattered_chunks_match_h5py) {
  TempDir dir;
  fs::path file = dir.path() / "runs.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  constexpr size_t kWords = 1 << 20;  // 8 MiB per dataset
  std::map<std::string, std::map<std::string, std::string>> want;
  want["v1"]["small"] = Words(kWords, 1);
  want["v1"]["wide"] = Words(kWords, 2);
  want["v2"]["small"] = EveryOtherChunk(want["v1"]["small"], 4096, 3);
  want["v2"]["wide"] = EveryOtherChunk(want["v1"]["wide"], 65536, 4);
  want["v1"]["packed"] = Words(kWords, 5);
  want["v2"]["packed"] = EveryOtherChunk(want["v1"]["packed"], 4096, 6);
  for (const auto& [name, datasets] : want) {
    vh5::NewVersion v;
    v.name = name;
    for (const auto& [path, bytes] : datasets) {
      v.datasets.push_back(MakeDataset(path, "<u8", {kWords}, {path == "wide" ? 8192u : 512u}));
      v.datasets.back().data = bytes;
      if (path == "packed") v.datasets.back().compression = "gzip:4";
    }
    vh5::Status s = vh5::CommitVersion(file.string(), v);
    BOOST_TEST_REQUIRE(s.ok(), s.ToString());
  }
  boost::property_tree::ptree oracle = H5pyOracle(file);
  for (const std::vector<std::string>& options :
       {std::vector<std::string>{"-o", "ro"},
        std::vector<std::string>{"-o", "ro,max_read=1048576"}}) {
    Mount mount(file, options);
    for (const auto& [name, datasets] : want) {
      for (const auto& [path, bytes] : datasets) {
        BOOST_TEST_CONTEXT(options[1] << " " << name << "/" << path) {
          fs::path node = mount.root() / "versions" / name / path;
          std::string whole = ReadFileInPieces(node, 1 << 20);
          BOOST_TEST(
              Sha256Hex(whole) ==
              At(At(At(At(At(oracle, "versions"), name), "datasets"), path), "sha256").data());
          BOOST_TEST((whole == bytes));
          BOOST_TEST((ReadFileInPieces(node, (3 << 20) + 4093) == bytes));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
