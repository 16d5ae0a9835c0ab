// The writer against h5py as an independent reader: what vh5fs writes is the
// Python library's format, chunk for chunk and hash for hash.
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <sstream>

#include "test_util.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

using namespace vh5test;
using boost::property_tree::ptree;

namespace {

ptree Oracle(const fs::path& file) {
  CommandResult r = Run(
      {"/usr/bin/python3", std::string(VH5_SOURCE_DIR) + "/tests/h5py_oracle.py", file.string()});
  BOOST_REQUIRE_MESSAGE(r.exit_status == 0, "h5py oracle failed: " << r.err);
  std::istringstream in(r.out);
  ptree tree;
  boost::property_tree::read_json(in, tree);
  return tree;
}

// The child of `tree` named `key`, whatever characters the key holds.
const ptree& At(const ptree& tree, const std::string& key) {
  for (const auto& [k, v] : tree)
    if (k == key) return v;
  BOOST_FAIL("no key " + key);
  return tree;
}

std::string Doubles(std::initializer_list<double> values, size_t repeat = 1) {
  std::string out;
  for (size_t r = 0; r < repeat; ++r)
    for (double v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

std::string EngineContent(const fs::path& file, const std::string& version,
                          const std::string& path) {
  auto f = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  auto v = (*f)->GetVersion(version);
  BOOST_REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  auto d = (*v)->OpenDataset(path);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  std::string out((*d)->size(), '\0');
  auto n = (*d)->Read(0, out.size(), out.data());
  BOOST_REQUIRE(n.ok() && *n == out.size());
  return out;
}

vh5::NewDataset Ramp(const std::string& path, size_t n, size_t chunk) {
  vh5::NewDataset d;
  d.path = path;
  d.dtype = "<f8";
  d.shape = {n};
  d.chunks = {chunk};
  for (size_t i = 0; i < n; ++i) d.data += Doubles({static_cast<double>(i) + 0.5});
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(writer)

BOOST_AUTO_TEST_CASE(a_new_file_is_empty_and_versioned) {
  TempDir dir;
  fs::path file = dir.path() / "new.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  BOOST_TEST(vh5::CreateVersionedFile(file.string()).code() == vh5::Status::Code::kExists);
  auto f = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_TEST_REQUIRE(f.ok());
  BOOST_TEST((*f)->ListVersions().empty());
  BOOST_TEST(!(*f)->CurrentVersion().has_value());
  ptree oracle = Oracle(file);
  BOOST_TEST(oracle.get<std::string>("current_version") == "__first_version__");
  BOOST_TEST(oracle.get<int>("data_version") == 4);
}

BOOST_AUTO_TEST_CASE(versions_read_back_through_h5py_and_share_chunks) {
  TempDir dir;
  fs::path file = dir.path() / "data.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());

  vh5::NewVersion v1;
  v1.name = "first";
  v1.timestamp = "2024-05-01 10:00:00.000000+0000";
  v1.groups = {{"grp", {{"note", "hello", ""}, {"weight", "2.5", "<f8"}}}};
  vh5::NewDataset values = Ramp("grp/values", 1000, 64);
  values.attrs = {{"units", "m", ""}, {"count", "7", "<i8"}, {"flags", "[1, 2, 3]", "(3,)<i4"}};
  vh5::NewDataset words;
  words.path = "words";
  words.dtype = "vlen-str";
  words.shape = {6};
  words.chunks = {4};
  words.strings = {"a", "", "back\\slash", "two\nlines", "ünï", "z"};
  v1.datasets = {values, words};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v1).ok());

  // One changed element: exactly one new chunk is stored.
  vh5::NewVersion v2 = v1;
  v2.name = "second";
  v2.timestamp = "2024-05-02 10:00:00.000000+0000";
  double changed = -1;
  std::memcpy(v2.datasets[0].data.data() + 8 * 500, &changed, sizeof changed);
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v2).ok());

  ptree oracle = Oracle(file);
  BOOST_TEST(oracle.get<std::string>("current_version") == "second");
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  // 16 chunks of values, then 1 more; 2 chunks of words, reused.
  BOOST_TEST(oracle.get<int>("hash_rows") == 16 + 1 + 2);
  for (const char* version : {"first", "second"}) {
    BOOST_TEST_CONTEXT("version " << version) {
      const ptree& v = At(At(oracle, "versions"), version);
      for (const char* path : {"grp/values", "words"}) {
        BOOST_TEST_CONTEXT(path) {
          const ptree& d = At(At(v, "datasets"), path);
          BOOST_TEST(d.get<std::string>("sha256") == Sha256Hex(EngineContent(file, version, path)));
        }
      }
      const ptree& values_attrs = At(At(At(v, "datasets"), "grp/values"), "attrs");
      BOOST_TEST(values_attrs.get<std::string>("units") == "m");
      BOOST_TEST(values_attrs.get<std::string>("count") == "7");
      BOOST_TEST(values_attrs.get<std::string>("flags") == "[1, 2, 3]");
      const ptree& grp = At(At(v, "groups"), "grp");
      BOOST_TEST(grp.get<std::string>("note") == "hello");
      BOOST_TEST(grp.get<std::string>("weight") == "2.5");
    }
  }
  BOOST_TEST(At(At(oracle, "versions"), "second").get<std::string>("prev_version") == "first");
  std::string expected_words = "a\n\nback\\\\slash\ntwo\\nlines\nünï\nz\n";
  BOOST_TEST(EngineContent(file, "first", "words") == expected_words);

  // The engine shows the attributes with the types they were written with.
  auto f = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_TEST_REQUIRE(f.ok());
  auto v = (*f)->GetVersion("second");
  BOOST_TEST_REQUIRE(v.ok());
  auto attrs = (*v)->GetAttributes("grp/values");
  BOOST_TEST_REQUIRE(attrs.ok());
  std::map<std::string, std::pair<std::string, std::string>> got;
  for (const vh5::Attribute& a : *attrs) got[a.name] = {a.text, a.type};
  BOOST_TEST((got["units"] == std::pair<std::string, std::string>{"m", ""}));
  BOOST_TEST((got["count"] == std::pair<std::string, std::string>{"7", "<i8"}));
  BOOST_TEST((got["flags"] == std::pair<std::string, std::string>{"[1, 2, 3]", "(3,)<i4"}));
}

BOOST_AUTO_TEST_CASE(chunks_of_nothing_but_fill_are_not_stored) {
  TempDir dir;
  fs::path file = dir.path() / "sparse.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  vh5::NewVersion v;
  v.name = "sparse";
  vh5::NewDataset d;
  d.path = "mostly_fill";
  d.dtype = "<f8";
  d.shape = {40, 10};
  d.chunks = {10, 5};
  d.fill_bytes = Doubles({-1});
  d.data = Doubles({-1}, 400);
  double one = 1;
  std::memcpy(d.data.data() + 8 * (25 * 10 + 7), &one, sizeof one);  // row 25, column 7
  v.datasets = {d};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  ptree oracle = Oracle(file);
  const ptree& got = At(At(At(At(oracle, "versions"), "sparse"), "datasets"), "mostly_fill");
  BOOST_TEST(got.get<int>("mappings") == 1);
  BOOST_TEST(got.get<std::string>("fillvalue") == "-1.0");
  BOOST_TEST(got.get<std::string>("sha256") == Sha256Hex(d.data));
  BOOST_TEST(EngineContent(file, "sparse", "mostly_fill") == d.data);
}

BOOST_AUTO_TEST_CASE(bad_commits_are_refused_and_change_nothing) {
  TempDir dir;
  fs::path file = dir.path() / "f.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  vh5::NewVersion v;
  v.name = "v";
  v.datasets = {Ramp("x", 10, 4)};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  using Code = vh5::Status::Code;
  BOOST_TEST(vh5::CommitVersion(file.string(), v).code() == Code::kExists);
  for (const char* name : {"", ".", "..", "__first_version__", "a/b"}) {
    vh5::NewVersion bad = v;
    bad.name = name;
    BOOST_TEST(vh5::CommitVersion(file.string(), bad).code() == Code::kInvalidArgument);
  }
  vh5::NewVersion short_data = v;
  short_data.name = "short";
  short_data.datasets[0].data.resize(8);
  BOOST_TEST(vh5::CommitVersion(file.string(), short_data).code() == Code::kInvalidArgument);
  vh5::NewVersion rechunked = v;
  rechunked.name = "rechunked";
  rechunked.datasets[0].chunks = {5};
  BOOST_TEST(vh5::CommitVersion(file.string(), rechunked).code() == Code::kInvalidArgument);
  {
    auto f = vh5::VersionedFile::OpenReadOnly(file.string());
    BOOST_TEST_REQUIRE(f.ok());
    BOOST_TEST((*f)->ListVersions().size() == 1u);
  }
  // A refused commit leaves its name free.
  rechunked.datasets[0].chunks = {4};
  BOOST_TEST(vh5::CommitVersion(file.string(), rechunked).ok());
}

BOOST_AUTO_TEST_SUITE_END()
