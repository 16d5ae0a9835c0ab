// The staging tree: copy-on-write over a base version, committed through the
// writer, read back through the engine and h5py.
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <map>

#include "test_util.h"
#include "vh5/staging.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

using namespace vh5test;

namespace {

std::string Doubles(const std::vector<double>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
}

// A file with version "base": values (1000 <f8 in chunks of 100), grid (6x4 <i4), names (vlen);
// values alone without `everything`.
fs::path MakeBase(const TempDir& dir, bool everything = true) {
  fs::path file = dir.path() / "base.h5";
  BOOST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  vh5::NewVersion v;
  v.name = "base";
  std::vector<double> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
  vh5::NewDataset d = MakeDataset("values", "<f8", {1000}, {100});
  d.data = Doubles(values);
  d.attrs = {{"units", "m", ""}};
  std::vector<int32_t> grid(24);
  for (size_t i = 0; i < grid.size(); ++i) grid[i] = static_cast<int32_t>(i);
  vh5::NewDataset g = MakeDataset("sub/grid", "<i4", {6, 4}, {3, 2});
  g.data = std::string(reinterpret_cast<const char*>(grid.data()), 96);
  vh5::NewDataset n = MakeDataset("names", "vlen-str", {3}, {2});
  n.strings = {"a", "b", "c"};
  v.datasets = {d, g, n};
  v.groups = {{"sub", {{"desc", "a group", ""}}}};
  if (!everything) {
    v.datasets = {d};
    v.groups.clear();
  }
  BOOST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  return file;
}

std::shared_ptr<const vh5::Version> Open(const vh5::VersionedFile& f, const std::string& name) {
  auto v = f.GetVersion(name);
  BOOST_REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  return *v;
}

std::shared_ptr<const vh5::Version> Open(const fs::path& file, const std::string& name) {
  auto f = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  return Open(**f, name);
}

std::string ReadVersion(const vh5::Version& v, const std::string& path) {
  auto d = v.OpenDataset(path);
  BOOST_REQUIRE_MESSAGE(d.ok(), d.status().ToString());
  std::string out((*d)->size(), '\0');
  BOOST_REQUIRE((*d)->Read(0, out.size(), out.data()).ok());
  return out;
}

vh5::Status Commit(vh5::VersionedFile& f, vh5::Staging& s, const std::string& name) {
  return s.Commit(f, name);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(staging)

BOOST_AUTO_TEST_CASE(mirrors_its_base_until_written) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto base = Open(file, "base");
  vh5::Staging s(base);
  BOOST_TEST(s.base_name() == "base");
  BOOST_TEST(!s.HasChanges());
  auto root = s.List("");
  BOOST_TEST_REQUIRE(root.ok());
  BOOST_TEST(root->size() == 3u);
  BOOST_TEST((ReadStaged(s, "values") == ReadVersion(*base, "values")));
  BOOST_TEST((ReadStaged(s, "names") == "a\nb\nc\n"));
  BOOST_TEST(s.GetAttributes("sub")->at(0).text == "a group");
  BOOST_TEST(s.Info("sub/grid")->shape == (std::vector<uint64_t>{6, 4}));
}

BOOST_AUTO_TEST_CASE(one_changed_element_commits_one_new_chunk) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  std::string expected;
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "base"));
    double v = -7;
    BOOST_TEST_REQUIRE(
        s.Write("values", 8 * 555, std::string_view(reinterpret_cast<char*>(&v), 8)).ok());
    BOOST_TEST_REQUIRE(s.Flush("values").ok());
    BOOST_TEST(s.HasChanges());
    expected = ReadStaged(s, "values");
    vh5::Status c = Commit(*f, s, "next");
    BOOST_TEST_REQUIRE(c.ok(), c.ToString());
    // The committing file shows the new version at once.
    BOOST_TEST(f->CurrentVersion().value_or("") == "next");
    BOOST_TEST((ReadVersion(*Open(*f, "next"), "values") == expected));
  }
  auto next = Open(file, "next");
  BOOST_TEST(next->info().prev_version == "base");
  BOOST_TEST((ReadVersion(*next, "values") == expected));
  BOOST_TEST((ReadVersion(*next, "sub/grid") == ReadVersion(*Open(file, "base"), "sub/grid")));
  CommandResult oracle = Run(
      {"/usr/bin/python3", std::string(VH5_SOURCE_DIR) + "/tests/h5py_oracle.py", file.string()});
  BOOST_TEST_REQUIRE(oracle.exit_status == 0, oracle.err);
  BOOST_TEST(oracle.out.find("\"bad_hash_rows\": 0") != std::string::npos);
  // 10 + 1 chunks of values, 4 of grid, 2 of names.
  BOOST_TEST(oracle.out.find("\"hash_rows\": 17") != std::string::npos, oracle.out.substr(0, 80));
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(a_2d_write_rehashes_only_the_chunks_it_touches) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  std::string expected;
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "base"));
    int32_t v = -1;  // row 4, column 3: chunk (1, 1) of the 3x2 chunks
    BOOST_TEST_REQUIRE(
        s.Write("sub/grid", 4 * (4 * 4 + 3), std::string_view(reinterpret_cast<char*>(&v), 4))
            .ok());
    BOOST_TEST_REQUIRE(s.Flush("sub/grid").ok());
    expected = ReadStaged(s, "sub/grid");
    BOOST_TEST_REQUIRE(Commit(*f, s, "grid2").ok());
  }
  BOOST_TEST((ReadVersion(*Open(file, "grid2"), "sub/grid") == expected));
  CommandResult oracle = Run(
      {"/usr/bin/python3", std::string(VH5_SOURCE_DIR) + "/tests/h5py_oracle.py", file.string()});
  BOOST_TEST_REQUIRE(oracle.exit_status == 0, oracle.err);
  BOOST_TEST(oracle.out.find("\"bad_hash_rows\": 0") != std::string::npos);
  BOOST_TEST(oracle.out.find("\"sub/grid\": 5") != std::string::npos);  // 4 chunks + 1
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(a_new_file_takes_its_metadata_from_xattrs) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "base"));
    BOOST_TEST_REQUIRE(s.CreateDataset("sub/matrix").ok());
    std::vector<double> m(12);
    for (size_t i = 0; i < m.size(); ++i) m[i] = 0.5 * static_cast<double>(i);
    BOOST_TEST_REQUIRE(s.Write("sub/matrix", 0, Doubles(m)).ok());
    BOOST_TEST_REQUIRE(s.Flush("sub/matrix").ok());
    BOOST_TEST(s.Info("sub/matrix")->dtype.numpy == "|u1");
    // cp -a sets them in listxattr order: chunks before dtype and shape.
    BOOST_TEST_REQUIRE(s.SetChunks("sub/matrix", {2, 2}).ok());
    BOOST_TEST_REQUIRE(s.SetCompression("sub/matrix", "gzip:4").ok());
    BOOST_TEST_REQUIRE(s.SetDtype("sub/matrix", "<f8").ok());
    BOOST_TEST_REQUIRE(s.SetFillValue("sub/matrix", "-1.5").ok());
    BOOST_TEST_REQUIRE(s.SetShape("sub/matrix", {3, 4}).ok());
    BOOST_TEST(s.SetShape("sub/matrix", {5, 5}).ok());  // a resize keeps elements
    BOOST_TEST_REQUIRE(s.SetShape("sub/matrix", {3, 4}).ok());
    BOOST_TEST(s.SetDtype("sub/matrix", "<f4").code() == vh5::Status::Code::kOk);
    BOOST_TEST_REQUIRE(s.SetDtype("sub/matrix", "<f8").ok());
    BOOST_TEST(s.SetDtype("sub/matrix", "|S5").code() == vh5::Status::Code::kInvalidArgument);
    BOOST_TEST_REQUIRE(s.SetAttributeText("sub/matrix", "scale", "2.5").ok());
    BOOST_TEST_REQUIRE(s.SetAttributeType("sub/matrix", "scale", "<f8").ok());
    BOOST_TEST_REQUIRE(
        s.SetAttributeType("sub/matrix", "count", "<i8").ok());  // type first, as rsync may
    BOOST_TEST_REQUIRE(s.SetAttributeText("sub/matrix", "count", "3").ok());
    BOOST_TEST_REQUIRE(Commit(*f, s, "with-matrix").ok());
  }
  auto v = Open(file, "with-matrix");
  auto d = v->OpenDataset("sub/matrix");
  BOOST_TEST_REQUIRE(d.ok());
  const vh5::DatasetInfo& info = (*d)->info();
  BOOST_TEST(info.dtype.numpy == "<f8");
  BOOST_TEST(info.shape == (std::vector<uint64_t>{3, 4}));
  BOOST_TEST(info.chunks == (std::vector<uint64_t>{2, 2}));
  BOOST_TEST(info.fill_text == "-1.5");
  BOOST_TEST(info.compression == "gzip:4");
  std::map<std::string, std::pair<std::string, std::string>> attrs;
  for (const auto& a : info.attrs) attrs[a.name] = {a.text, a.type};
  BOOST_TEST((attrs["scale"] == std::pair<std::string, std::string>{"2.5", "<f8"}));
  BOOST_TEST((attrs["count"] == std::pair<std::string, std::string>{"3", "<i8"}));
  double third;
  std::string bytes = ReadVersion(*v, "sub/matrix");
  std::memcpy(&third, bytes.data() + 16, 8);
  BOOST_TEST(third == 1.0);
  VerifyClean(file);
}

// versioned-hdf5 gives a 1-D dataset made without chunks 4096 elements a
// chunk, whatever its dtype; it requires chunks of N-D ones, for which vh5fs
// takes h5py's guess (chunks=True): the figures are h5py 3.7's guess_chunk.
BOOST_AUTO_TEST_CASE(new_datasets_get_the_chunks_the_python_library_and_h5py_choose) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "base"));
    BOOST_TEST_REQUIRE(s.CreateDataset("series").ok());
    BOOST_TEST(s.Info("series")->chunks == (std::vector<uint64_t>{4096}));
    std::vector<double> values(100, 2.5);
    BOOST_TEST_REQUIRE(s.Write("series", 0, Doubles(values)).ok());
    BOOST_TEST_REQUIRE(s.SetDtype("series", "<f8").ok());
    BOOST_TEST(s.Info("series")->chunks == (std::vector<uint64_t>{4096}));
    const std::vector<std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> f8 = {
        {{1000, 1000}, {63, 63}}, {{10, 3}, {10, 3}}, {{100000, 3}, {3125, 1}}};
    for (const auto& [shape, chunks] : f8) {
      BOOST_TEST_REQUIRE(s.CreateDataset("grid").ok());
      BOOST_TEST_REQUIRE(s.SetDtype("grid", "<f8").ok());
      BOOST_TEST_REQUIRE(s.SetShape("grid", shape).ok());
      BOOST_TEST(s.Info("grid")->chunks == chunks);
      BOOST_TEST_REQUIRE(s.Unlink("grid").ok());
    }
    BOOST_TEST_REQUIRE(s.CreateDataset("image").ok());
    BOOST_TEST_REQUIRE(s.SetShape("image", {8192, 8192}).ok());
    BOOST_TEST(s.Info("image")->chunks == (std::vector<uint64_t>{256, 256}));
    BOOST_TEST_REQUIRE(s.SetDtype("image", "<f4").ok());
    BOOST_TEST(s.Info("image")->chunks == (std::vector<uint64_t>{128, 128}));
    BOOST_TEST_REQUIRE(s.SetShape("image", {7, 100000}).ok());
    BOOST_TEST_REQUIRE(s.SetDtype("image", "|u1").ok());
    BOOST_TEST(s.Info("image")->chunks == (std::vector<uint64_t>{1, 12500}));
    BOOST_TEST_REQUIRE(Commit(*f, s, "chunked").ok());
  }
  auto v = Open(file, "chunked");
  auto d = v->OpenDataset("series");
  BOOST_TEST_REQUIRE(d.ok());
  BOOST_TEST((*d)->info().chunks == (std::vector<uint64_t>{4096}));
  BOOST_TEST((*d)->info().dtype.numpy == "<f8");
  d = v->OpenDataset("image");
  BOOST_TEST_REQUIRE(d.ok());
  BOOST_TEST((*d)->info().chunks == (std::vector<uint64_t>{1, 12500}));
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(close_refuses_partial_rows_and_keeps_the_last_valid_content) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  vh5::Staging s(Open(file, "base"));
  std::string before = ReadStaged(s, "sub/grid");
  BOOST_TEST_REQUIRE(s.Write("sub/grid", 96, "xyz").ok());
  BOOST_TEST(s.Flush("sub/grid").code() == vh5::Status::Code::kInvalidArgument);
  BOOST_TEST((ReadStaged(s, "sub/grid") == before));
  // Whole rows extend axis 0; truncate then extends with the fill value.
  BOOST_TEST_REQUIRE(s.Truncate("sub/grid", 16 * 8).ok());
  BOOST_TEST_REQUIRE(s.Flush("sub/grid").ok());
  BOOST_TEST(s.Info("sub/grid")->shape == (std::vector<uint64_t>{8, 4}));
  std::string grown = ReadStaged(s, "sub/grid");
  BOOST_TEST(grown.substr(96) == std::string(32, '\0'));
  BOOST_TEST(s.SetDtype("sub/grid", "<i8").code() == vh5::Status::Code::kUnsupported);
  BOOST_TEST(s.SetChunks("sub/grid", {4, 4}).code() == vh5::Status::Code::kUnsupported);
  // Variable-length strings: whole lines only.
  BOOST_TEST_REQUIRE(s.Write("names", 6, "d\ne").ok());
  BOOST_TEST(s.Flush("names").code() == vh5::Status::Code::kInvalidArgument);
  BOOST_TEST((ReadStaged(s, "names") == "a\nb\nc\n"));
  BOOST_TEST_REQUIRE(s.Write("names", 6, "d\ne\n").ok());
  BOOST_TEST_REQUIRE(s.Flush("names").ok());
  BOOST_TEST(s.Info("names")->shape == (std::vector<uint64_t>{5}));
}

BOOST_AUTO_TEST_CASE(groups_and_names_behave_like_a_filesystem) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  using Code = vh5::Status::Code;
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "base"));
    BOOST_TEST(s.Mkdir("sub").code() == Code::kExists);
    BOOST_TEST(s.Mkdir("nope/deeper").code() == Code::kNotFound);
    BOOST_TEST(s.Mkdir("values/x").code() == Code::kNotADirectory);
    BOOST_TEST_REQUIRE(s.Mkdir("fresh").ok());
    BOOST_TEST(s.Rmdir("sub").code() == Code::kNotEmpty);
    BOOST_TEST(s.Unlink("sub").code() == Code::kIsADirectory);
    BOOST_TEST(s.Rename("sub", "sub/inner").code() == Code::kInvalidArgument);
    BOOST_TEST_REQUIRE(s.Rename("sub/grid", "fresh/grid").ok());
    BOOST_TEST_REQUIRE(s.Rename("values", "renamed").ok());
    BOOST_TEST_REQUIRE(s.Unlink("names").ok());
    BOOST_TEST_REQUIRE(s.RemoveAttribute("sub", "desc").ok());
    BOOST_TEST(s.RemoveAttribute("sub", "desc").code() == Code::kNotFound);
    BOOST_TEST(s.SetAttributeText("", "timestamp", "x").code() == Code::kInvalidArgument);
    BOOST_TEST_REQUIRE(s.SetAttributeText("", "owner", "me").ok());
    BOOST_TEST_REQUIRE(Commit(*f, s, "moved").ok());
  }
  auto v = Open(file, "moved");
  BOOST_TEST(v->Kind("fresh/grid").ok());
  BOOST_TEST(v->Kind("renamed").ok());
  BOOST_TEST(v->Kind("names").status().IsNotFound());
  BOOST_TEST(v->Kind("values").status().IsNotFound());
  BOOST_TEST(v->GetAttributes("sub")->empty());
  BOOST_TEST(v->GetAttributes("")->at(0).text == "me");
  BOOST_TEST((ReadVersion(*v, "renamed") == ReadVersion(*Open(file, "base"), "values")));
  VerifyClean(file);
}

// The per-path hash table row counts h5py finds, after checking every row.
std::map<std::string, int> HashRows(const fs::path& file) {
  boost::property_tree::ptree oracle = H5pyOracle(file);
  BOOST_TEST_REQUIRE(oracle.get<int>("bad_hash_rows") == 0);
  std::map<std::string, int> rows;
  for (const auto& [path, n] : At(oracle, "table_rows")) rows[path] = n.get_value<int>();
  return rows;
}

BOOST_AUTO_TEST_CASE(an_identical_rewrite_stores_and_hashes_nothing) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  std::vector<double> big(200000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<double>(i % 977) * 0.25;
  {
    vh5::NewVersion v;
    v.name = "big";
    vh5::NewDataset d;
    d.path = "big";
    d.dtype = "<f8";
    d.shape = {big.size()};
    d.chunks = {4096};
    d.data = Doubles(big);
    v.datasets = {d};
    BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  }
  std::map<std::string, int> before = HashRows(file);
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "big"));
    std::string bytes = Doubles(big);
    // cp over it: O_TRUNC, then 128 KiB writes; then the same in 1000-byte writes.
    BOOST_TEST_REQUIRE(s.Truncate("big", 0).ok());
    for (size_t at = 0; at < bytes.size(); at += 128 << 10)
      BOOST_TEST_REQUIRE(s.Write("big", at, std::string_view(bytes).substr(at, 128 << 10)).ok());
    BOOST_TEST_REQUIRE(s.Flush("big").ok());
    BOOST_TEST(s.ScratchPages() == 0u);
    // Planned as unchanged: no element read or hashed, no chunk stored.
    BOOST_TEST_REQUIRE(Commit(*f, s, "same").ok());
    BOOST_TEST_REQUIRE(s.Truncate("big", 0).ok());
    for (size_t at = 0; at < bytes.size(); at += 1000)
      BOOST_TEST_REQUIRE(s.Write("big", at, std::string_view(bytes).substr(at, 1000)).ok());
    BOOST_TEST_REQUIRE(s.Flush("big").ok());
    BOOST_TEST(s.ScratchPages() > 0u);  // small writes land in scratch pages...
    BOOST_TEST_REQUIRE(Commit(*f, s, "rewritten").ok());
  }
  // ...and the commit finds every chunk equal to the one it replaces.
  BOOST_TEST((HashRows(file) == before));
  BOOST_TEST((ReadVersion(*Open(file, "rewritten"), "big") == Doubles(big)));
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(rows_added_or_removed_rehash_only_the_edge_chunks) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  std::string grown, shrunk;
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "base"));
    // 1000 -> 1050 rows: the new rows are fill until written.
    BOOST_TEST_REQUIRE(s.Truncate("values", 1050 * 8).ok());
    BOOST_TEST_REQUIRE(s.Write("values", 1049 * 8, Doubles({42})).ok());
    BOOST_TEST_REQUIRE(s.Flush("values").ok());
    grown = ReadStaged(s, "values");
    BOOST_TEST(grown.substr(1000 * 8, 49 * 8) == std::string(49 * 8, '\0'));
    BOOST_TEST_REQUIRE(Commit(*f, s, "grown").ok());
  }
  BOOST_TEST(HashRows(file)["values"] == 11);  // 10 old chunks + the 50-row edge chunk
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "grown"));
    BOOST_TEST_REQUIRE(s.SetShape("values", {950}).ok());
    shrunk = ReadStaged(s, "values");
    BOOST_TEST_REQUIRE(Commit(*f, s, "shrunk").ok());
  }
  BOOST_TEST(HashRows(file)["values"] == 12);  // + rows 900..949
  BOOST_TEST((ReadVersion(*Open(file, "grown"), "values") == grown));
  BOOST_TEST((ReadVersion(*Open(file, "shrunk"), "values") == shrunk));
  BOOST_TEST((shrunk == grown.substr(0, 950 * 8)));
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(resizing_a_trailing_dimension_keeps_every_element_in_place) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto grid = [](const std::string& bytes, uint64_t row, uint64_t col, uint64_t cols) {
    int32_t v;
    std::memcpy(&v, bytes.data() + 4 * (row * cols + col), 4);
    return v;
  };
  std::string wide, narrow;
  {
    auto f = OpenWritable(file);
    vh5::Staging s(Open(*f, "base"));
    BOOST_TEST_REQUIRE(s.SetShape("sub/grid", {7, 5}).ok());
    wide = ReadStaged(s, "sub/grid");
    BOOST_TEST_REQUIRE(wide.size() == 7u * 5 * 4);
    for (uint64_t r = 0; r < 7; ++r)
      for (uint64_t c = 0; c < 5; ++c)
        BOOST_TEST(grid(wide, r, c, 5) == (r < 6 && c < 4 ? static_cast<int32_t>(r * 4 + c) : 0));
    BOOST_TEST_REQUIRE(s.SetShape("sub/grid", {3, 3}).ok());
    narrow = ReadStaged(s, "sub/grid");
    BOOST_TEST_REQUIRE(narrow.size() == 3u * 3 * 4);
    for (uint64_t r = 0; r < 3; ++r)
      for (uint64_t c = 0; c < 3; ++c)
        BOOST_TEST(grid(narrow, r, c, 3) == static_cast<int32_t>(r * 4 + c));
    BOOST_TEST_REQUIRE(Commit(*f, s, "narrow").ok());
  }
  auto v = Open(file, "narrow");
  BOOST_TEST((ReadVersion(*v, "sub/grid") == narrow));
  BOOST_TEST(v->OpenDataset("sub/grid").value()->info().shape == (std::vector<uint64_t>{3, 3}));
  // Cell (0, 0) is the base's chunk (0, 0) again; cell (0, 1), 3x1, is new.
  BOOST_TEST(HashRows(file)["sub/grid"] == 5);
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(a_node_keeps_its_id_across_renames_and_a_held_one_outlives_its_unlink) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  vh5::Staging s(Open(*f, "base"));
  auto ok = [](const vh5::Status& st) { BOOST_TEST_REQUIRE(st.ok(), st.ToString()); };
  auto id_of = [&s](const std::string& path) {
    auto id = s.Resolve(path);
    BOOST_TEST_REQUIRE(id.ok(), id.status().ToString());
    return *id;
  };
  BOOST_TEST(id_of("") == vh5::Staging::kRootId);
  vh5::Staging::NodeId sub = id_of("sub"), grid = id_of("sub/grid");
  BOOST_TEST(*s.Lookup(sub, "grid") == grid);
  BOOST_TEST(s.Lookup(sub, "nothing").status().IsNotFound());
  ok(s.Rename("sub", "moved"));
  BOOST_TEST(id_of("moved") == sub);
  BOOST_TEST(id_of("moved/grid") == grid);

  // A new dataset, written and closed, held, then unlinked and made again.
  auto made = s.CreateDataset(vh5::Staging::kRootId, "a");
  BOOST_TEST_REQUIRE(made.ok());
  vh5::Staging::NodeId old_a = *made;
  uint64_t idle_pages = s.ScratchPages();
  std::string old_bytes(3 * 65536 + 10, 'o');
  ok(s.Write(old_a, 0, old_bytes).status());
  ok(s.Flush(old_a));
  ok(s.Hold(old_a));
  ok(s.Unlink(vh5::Staging::kRootId, "a"));
  BOOST_TEST(!s.Attached(old_a));
  BOOST_TEST(s.Resolve("a").status().IsNotFound());
  ok(s.CreateDataset("a"));
  vh5::Staging::NodeId new_a = id_of("a");
  BOOST_TEST(new_a != old_a);
  ok(s.Write(new_a, 0, "new").status());
  // The detached node reads and writes its own content.
  ok(s.Write(old_a, 0, "XXX").status());
  std::string got(old_bytes.size(), '\0');
  BOOST_TEST(*s.Read(old_a, 0, got.size(), got.data()) == old_bytes.size());
  BOOST_TEST((got == "XXX" + old_bytes.substr(3)));
  BOOST_TEST((ReadStaged(s, "a") == "new"));
  ok(s.Flush(old_a));
  BOOST_TEST(s.ScratchPages() > idle_pages + 3);
  // The last release frees it, and its pages (64 KiB each) with it.
  s.Release(old_a);
  BOOST_TEST(s.Kind(old_a).status().IsNotFound());
  BOOST_TEST(s.ScratchPages() <= idle_pages + 1);  // "new" holds one page at most
  // Nothing of it reaches the commit.
  ok(s.Flush(new_a));
  ok(s.Commit(*f, "next"));
  auto a = Open(*f, "next")->OpenDataset("a");
  BOOST_TEST_REQUIRE(a.ok());
  BOOST_TEST((*a)->size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_rebuilt_tree_keeps_the_ids_of_its_paths_and_detaches_the_rest) {
  TempDir dir;
  fs::path file = MakeBase(dir);
  auto f = OpenWritable(file);
  vh5::Staging s(Open(*f, "base"));
  auto ok = [](const vh5::Status& st) { BOOST_TEST_REQUIRE(st.ok(), st.ToString()); };
  vh5::Staging::NodeId values = *s.Resolve("values"), grid = *s.Resolve("sub/grid");
  ok(s.CreateDataset("fresh"));
  vh5::Staging::NodeId fresh = *s.Resolve("fresh");
  ok(s.Write(fresh, 0, "staged only").status());
  ok(s.Hold(fresh));
  ok(s.Hold(values));
  // Discard: paths of the base keep their ids; "fresh" lives on, detached.
  ok(s.Discard(false));
  BOOST_TEST(*s.Resolve("values") == values);
  BOOST_TEST(*s.Resolve("sub/grid") == grid);
  BOOST_TEST(s.Attached(values));
  BOOST_TEST(!s.Attached(fresh));
  BOOST_TEST(s.Resolve("fresh").status().IsNotFound());
  std::string got(11, '\0');
  BOOST_TEST(*s.Read(fresh, 0, got.size(), got.data()) == 11u);
  BOOST_TEST(got == "staged only");
  // A commit too: a held path keeps its id and reads the committed content.
  double v = -7;
  ok(s.Write(values, 0, std::string_view(reinterpret_cast<char*>(&v), 8)).status());
  ok(s.Flush(values));
  std::string expected = ReadStaged(s, "values");
  ok(Commit(*f, s, "next"));
  BOOST_TEST(*s.Resolve("values") == values);
  std::string after(expected.size(), '\0');
  BOOST_TEST(*s.Read(values, 0, after.size(), after.data()) == expected.size());
  BOOST_TEST((after == expected));
  s.Release(values);
  s.Release(fresh);
  BOOST_TEST(s.Attached(values));  // in the tree: a release changes nothing
  BOOST_TEST(s.Kind(fresh).status().IsNotFound());
}

// The hash tables a commit wrote are kept for the next ones
// (format/hash_table.h): a chunk written back to an earlier value is found
// in the kept rows as in the file's; after another process's commit (the
// Python library's) the table is read again, and its rows are found too.
BOOST_AUTO_TEST_CASE(kept_hash_tables_find_earlier_chunks_and_yield_to_another_writer,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  // Values only: h5py crashes asking a variable-length string dataset for
  // its fill value, which the library's stage_version does.
  fs::path file = MakeBase(dir, /*everything=*/false);
  auto rows = [&] {
    CommandResult r = Run({"/usr/bin/python3", "-c", R"PY(
import sys, h5py
with h5py.File(sys.argv[1], "r", locking=False) as f:
    rows = int(f["_version_data/values/hash_table"].attrs["largest_index"])
    # Every chunk stored has its row, each found again by later commits.
    assert f["_version_data/values/raw_data"].shape[0] == 100 * rows, "a chunk without a row"
    print(rows)
)PY",
                           file.string()});
    BOOST_REQUIRE_MESSAGE(r.exit_status == 0, r.err);
    return std::stoi(r.out);
  };
  BOOST_TEST_REQUIRE(rows() == 10);
  auto f = OpenWritable(file);
  std::map<std::string, std::string> committed;
  std::string base = "base";
  auto commit = [&](const std::string& name, double first) {
    vh5::Staging s(Open(*f, base));
    BOOST_TEST_REQUIRE(
        s.Write("values", 0, std::string_view(reinterpret_cast<char*>(&first), 8)).ok());
    BOOST_TEST_REQUIRE(s.Flush("values").ok());
    committed[name] = ReadStaged(s, "values");
    vh5::Status c = Commit(*f, s, name);
    BOOST_TEST_REQUIRE(c.ok(), c.ToString());
    base = name;
  };
  for (int k = 0; k < 12; ++k) commit("k" + std::to_string(k), k % 2 ? 1.5 : 2.5);
  BOOST_TEST(rows() == 12);  // two new chunks, then each found again
  fs::path peers = *SharedFixtures() / ".." / "peers";
  CommandResult foreign =
      Run({"/usr/bin/env", "PYTHONPATH=" + peers.string(), "/usr/bin/python3", "-c", R"PY(
import sys, h5py
from versioned_hdf5 import VersionedHDF5File
with h5py.File(sys.argv[1], "r+") as f:
    with VersionedHDF5File(f).stage_version("foreign", "k11") as g:
        g["values"][0] = 9.5
)PY",
           file.string()});
  BOOST_TEST_REQUIRE(foreign.exit_status == 0, "the library: " << foreign.out << foreign.err);
  BOOST_TEST_REQUIRE(rows() == 13);
  BOOST_TEST_REQUIRE(f->Refresh().ok());
  base = "foreign";
  committed["foreign"] = committed["k11"];
  std::memcpy(committed["foreign"].data(), "\0\0\0\0\0\0\x23\x40", 8);  // 9.5
  commit("after1", 3.5);
  commit("after2", 9.5);  // the library's chunk
  commit("after3", 1.5);  // one of this process's before it
  BOOST_TEST(rows() == 14);
  for (const auto& [name, bytes] : committed)
    BOOST_TEST((ReadVersion(*Open(file, name), "values") == bytes), name);
  VerifyClean(file);
}

BOOST_AUTO_TEST_SUITE_END()
