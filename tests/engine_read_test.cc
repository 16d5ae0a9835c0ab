// The engine's read path against every fixture written by versioned-hdf5,
// and against bad input it makes itself.
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <optional>
#include <set>

#include "format/chunk_index.h"
#include "manifest.h"
#include "test_util.h"
#include "util/py_literal.h"
#include "vh5/timestamp.h"
#include "vh5/versioned_file.h"
#include "vh5/vlen_text.h"
#include "vh5/writer.h"
#include "vh5/zarr.h"

using namespace vh5test;

namespace {

std::string ReadAll(const vh5::Dataset& d, size_t piece) {
  std::string out;
  std::vector<char> buf(piece);
  for (uint64_t offset = 0;;) {
    vh5::Result<size_t> n = d.Read(offset, piece, buf.data());
    if (!n.ok()) BOOST_FAIL(n.status().ToString());
    if (*n == 0) break;
    out.append(buf.data(), *n);
    offset += *n;
  }
  return out;
}

void CheckAttrs(const std::vector<ManifestAttr>& expected, const vh5::Attributes& got) {
  BOOST_TEST(expected.size() == got.size());
  for (const ManifestAttr& e : expected) {
    BOOST_TEST_CONTEXT("attribute " << e.name) {
      auto it = std::find_if(got.begin(), got.end(),
                             [&](const vh5::Attribute& a) { return a.name == e.name; });
      BOOST_TEST_REQUIRE((it != got.end()));
      if (e.typed) {
        BOOST_TEST(it->type == e.dtype);
        BOOST_TEST(TypedValueMatches(it->text, e.value), it->text << " is " << e.value);
      } else {
        BOOST_TEST(it->type == "");
        BOOST_TEST(it->text == e.value);
      }
    }
  }
}

// Reads of 10007 bytes at scattered offsets (some past the end) agree with
// the whole content.
void CheckScatteredReads(const vh5::Dataset& d, const std::string& whole) {
  uint64_t size = whole.size();
  std::vector<uint64_t> offsets = {0,    size / 3,   size / 2 + 1, size ? size - 1 : 0,
                                   size, size + 4096};
  for (uint64_t x = 12345; offsets.size() < 16 && size > 0; x = x * 6364136223846793005ULL + 1)
    offsets.push_back((x >> 17) % size);
  std::vector<char> buf(10007);
  for (uint64_t offset : offsets) {
    vh5::Result<size_t> n = d.Read(offset, buf.size(), buf.data());
    BOOST_TEST_REQUIRE(n.ok(), n.status().ToString());
    size_t want = offset >= size ? 0 : std::min<uint64_t>(buf.size(), size - offset);
    BOOST_TEST(*n == want, "read at " << offset);
    if (*n == want && want > 0)
      BOOST_TEST((std::string(buf.data(), *n) == whole.substr(offset, want)), "read at " << offset);
  }
}

void CheckTree(const vh5::Version& version, const ManifestVersion& expected) {
  // Walk the tree and compare the sets of groups and datasets.
  std::set<std::string> groups, datasets;
  std::function<void(const std::string&)> walk = [&](const std::string& path) {
    vh5::Result<std::vector<vh5::DirEntry>> children = version.List(path);
    BOOST_REQUIRE_MESSAGE(children.ok(), children.status().ToString());
    std::vector<std::string> names;
    for (const vh5::DirEntry& e : *children) {
      names.push_back(e.name);
      std::string child = path.empty() ? e.name : path + "/" + e.name;
      vh5::Result<vh5::NodeKind> kind = version.Kind(child);
      BOOST_TEST_REQUIRE(kind.ok(), kind.status().ToString());
      BOOST_TEST((*kind == e.kind), child);
      if (e.kind == vh5::NodeKind::kGroup) {
        groups.insert(child);
        walk(child);
      } else {
        datasets.insert(child);
      }
    }
    BOOST_TEST(std::is_sorted(names.begin(), names.end()), "List(" << path << ") is sorted");
  };
  BOOST_TEST_REQUIRE(version.Kind("").ok());
  BOOST_TEST((*version.Kind("") == vh5::NodeKind::kGroup));
  walk("");
  std::set<std::string> want_groups, want_datasets;
  for (const auto& [p, a] : expected.groups) want_groups.insert(p);
  for (const auto& [p, d] : expected.datasets) want_datasets.insert(p);
  BOOST_TEST(groups == want_groups, boost::test_tools::per_element());
  BOOST_TEST(datasets == want_datasets, boost::test_tools::per_element());
}

void CheckVersion(const vh5::Version& version, const ManifestVersion& expected) {
  BOOST_TEST(version.info().prev_version == expected.prev_version);
  BOOST_TEST(version.info().timestamp == expected.timestamp);
  BOOST_TEST(version.info().timestamp_ns == vh5::ParseTimestamp(expected.timestamp).value());
  CheckTree(version, expected);

  for (const auto& [path, attrs] : expected.groups) {
    BOOST_TEST_CONTEXT("group " << path) {
      vh5::Result<vh5::Attributes> got = version.GetAttributes(path);
      BOOST_TEST_REQUIRE(got.ok(), got.status().ToString());
      CheckAttrs(attrs, *got);
    }
  }
  for (const auto& [path, want] : expected.datasets) {
    BOOST_TEST_CONTEXT("dataset " << path) {
      vh5::Result<std::shared_ptr<const vh5::Dataset>> d = version.OpenDataset(path);
      BOOST_TEST_REQUIRE(d.ok(), d.status().ToString());
      auto again = version.OpenDataset(path);
      BOOST_TEST((again.ok() && again->get() == d->get()), "one object per path");
      const vh5::DatasetInfo& info = (*d)->info();
      BOOST_TEST(info.dtype.numpy == want.dtype);
      BOOST_TEST(info.dtype.is_vlen_string == (want.dtype == "vlen-str"));
      BOOST_TEST(info.shape == want.shape, boost::test_tools::per_element());
      BOOST_TEST(info.chunks == want.chunks, boost::test_tools::per_element());
      BOOST_TEST((*d)->size() == want.nbytes);
      if (!info.dtype.is_vlen_string) {
        uint64_t elements = 1;
        for (uint64_t n : want.shape) elements *= n;
        BOOST_TEST(info.dtype.itemsize * elements == want.nbytes);
        BOOST_TEST(info.fill_bytes.size() == info.dtype.itemsize);
      }
      std::string whole = ReadAll(**d, 1 << 20);
      BOOST_TEST(whole.size() == want.nbytes);
      BOOST_TEST(Sha256Hex(whole) == want.sha256);
      // Odd-sized pieces exercise every partial-element and cross-chunk path.
      BOOST_TEST((ReadAll(**d, 4093) == whole));
      if (whole.size() <= (64 << 10)) BOOST_TEST((ReadAll(**d, 7) == whole));
      CheckScatteredReads(**d, whole);
      vh5::Result<vh5::Attributes> attrs = version.GetAttributes(path);
      BOOST_TEST_REQUIRE(attrs.ok(), attrs.status().ToString());
      CheckAttrs(want.attrs, *attrs);
      CheckAttrs(want.attrs, info.attrs);
      if (!want.fill_repr.empty()) BOOST_TEST(info.fill_text == want.fill_repr);
    }
  }
}

void CheckVersionList(const vh5::VersionedFile& file, const ManifestFile& mf) {
  std::optional<std::string> current = file.CurrentVersion();
  BOOST_TEST(current.value_or(vh5::kFirstVersionName) == mf.current_version);
  BOOST_TEST((current != std::optional<std::string>(vh5::kFirstVersionName)));
  std::vector<vh5::VersionInfo> listed = file.ListVersions();
  std::vector<std::string> names, want;
  for (const vh5::VersionInfo& v : listed) names.push_back(v.name);
  for (const auto& [name, v] : mf.versions) want.push_back(name);
  BOOST_TEST(names == want, boost::test_tools::per_element());
  for (const vh5::VersionInfo& v : listed) {
    auto it = mf.versions.find(v.name);
    if (it == mf.versions.end()) continue;
    BOOST_TEST_CONTEXT("listed version " << v.name) {
      BOOST_TEST(v.prev_version == it->second.prev_version);
      BOOST_TEST(v.timestamp == it->second.timestamp);
      BOOST_TEST(v.timestamp_ns == vh5::ParseTimestamp(it->second.timestamp).value());
      vh5::Result<vh5::VersionInfo> info = file.GetVersionInfo(v.name);
      BOOST_TEST_REQUIRE(info.ok(), info.status().ToString());
      BOOST_TEST(info->prev_version == v.prev_version);
      BOOST_TEST(info->timestamp == v.timestamp);
    }
  }
  BOOST_TEST(file.GetVersionInfo(vh5::kFirstVersionName).status().IsNotFound());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_read)

BOOST_AUTO_TEST_CASE(every_fixture_matches_its_manifest,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& path, const ManifestFile& mf) {
    auto file = vh5::VersionedFile::OpenReadOnly(path.string());
    BOOST_TEST_REQUIRE(file.ok(), file.status().ToString());
    CheckVersionList(**file, mf);
    for (const auto& [name, expected] : mf.versions) {
      BOOST_TEST_CONTEXT("version " << name) {
        // Named captures: clang 14 cannot capture structured bindings.
        Isolated([&, &name = name, &expected = expected] {
          auto version = (*file)->GetVersion(name);
          BOOST_TEST_REQUIRE(version.ok(), version.status().ToString());
          BOOST_TEST((*version)->info().name == name);
          CheckVersion(**version, expected);
        });
      }
    }
  });
}

// The harness itself: manifest.json's \u escapes (surrogate pairs included)
// and raw UTF-8 both come back as UTF-8.
BOOST_AUTO_TEST_CASE(manifest_reader_decodes_unicode) {
  TempDir dir;
  WriteFile(dir.path() / "manifest.json",
            R"({"f.h5": {"current_version": "\u00fcn\u00efcode-\u03c8", "versions": {)"
            R"("\u00fcn\u00efcode-\u03c8": {"prev_version": "\ud83d\ude00 a\"b\\c",)"
            R"( "timestamp": "t", "groups": {"g": {"k": "ψ"}}, "datasets": {}}}}})");
  std::vector<ManifestFile> files = LoadManifest(dir.path() / "manifest.json");
  BOOST_TEST_REQUIRE(files.size() == 1u);
  BOOST_TEST(files[0].current_version == "ünïcode-ψ");
  BOOST_TEST_REQUIRE(files[0].versions.count("ünïcode-ψ") == 1u);
  const ManifestVersion& v = files[0].versions.at("ünïcode-ψ");
  BOOST_TEST(v.prev_version == "\xf0\x9f\x98\x80 a\"b\\c");
  BOOST_TEST_REQUIRE(v.groups.count("g") == 1u);
  BOOST_TEST(v.groups.at("g")[0].value == "ψ");
}

BOOST_AUTO_TEST_CASE(legacy_files_report_their_data_version,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  fs::path fixtures = *SharedFixtures();
  auto legacy = vh5::VersionedFile::OpenReadOnly(
      (fixtures / "legacy" / "nested_data_old_data_version.h5").string());
  BOOST_TEST_REQUIRE(legacy.ok());
  BOOST_TEST((*legacy)->data_version() < 4);
  auto current = vh5::VersionedFile::OpenReadOnly((fixtures / "basic.h5").string());
  BOOST_TEST_REQUIRE(current.ok());
  BOOST_TEST((*current)->data_version() == 4);
}

BOOST_AUTO_TEST_CASE(unknown_names_are_not_found,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  auto file = vh5::VersionedFile::OpenReadOnly((*SharedFixtures() / "groups.h5").string());
  BOOST_TEST_REQUIRE(file.ok());
  BOOST_TEST((*file)->GetVersion("nope").status().code() == vh5::Status::Code::kNotFound);
  BOOST_TEST((*file)->GetVersion(vh5::kFirstVersionName).status().IsNotFound());
  auto v1 = (*file)->GetVersion("v1");
  BOOST_TEST_REQUIRE(v1.ok());
  BOOST_TEST((*v1)->Kind("a/nope").status().IsNotFound());
  BOOST_TEST((*v1)->Kind("top/x").status().code() == vh5::Status::Code::kNotADirectory);
  BOOST_TEST((*v1)->OpenDataset("a").status().code() == vh5::Status::Code::kIsADirectory);
  BOOST_TEST((*v1)->List("top").status().code() == vh5::Status::Code::kNotADirectory);
  // The error names the file, the version and the path.
  std::string message = (*v1)->Kind("a/nope").status().message();
  BOOST_TEST(message.find("groups.h5") != std::string::npos);
  BOOST_TEST(message.find("v1") != std::string::npos);
  BOOST_TEST(message.find("a/nope") != std::string::npos);
}

// ChunkIndex reads the chunk B-trees itself; HDF5 must agree on every chunk.
BOOST_AUTO_TEST_CASE(chunk_index_agrees_with_hdf5_on_every_fixture,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  fs::path fixtures = *SharedFixtures();
  size_t checked = 0;
  for (const ManifestFile& mf : LoadAllManifests(fixtures)) {
    fs::path path = fixtures / mf.name;
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    BOOST_TEST_REQUIRE(file >= 0);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    std::vector<std::string> raw_paths;
    H5Ovisit2(
        file, H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
          std::string n = name;
          if (info->type == H5O_TYPE_DATASET && n.size() > 9 &&
              n.compare(n.size() - 9, 9, "/raw_data") == 0)
            static_cast<std::vector<std::string>*>(data)->push_back(n);
          return 0;
        },
        &raw_paths, H5O_INFO_BASIC);
    for (const std::string& raw_path : raw_paths) {
      BOOST_TEST_CONTEXT(mf.name << ": " << raw_path) {
        hid_t dset = H5Dopen2(file, raw_path.c_str(), H5P_DEFAULT);
        auto index = vh5::ChunkIndex::Read(file, dset, fd);
        BOOST_TEST_REQUIRE(index.ok(), index.status().ToString());
        hid_t space = H5Dget_space(dset);
        int rank = H5Sget_simple_extent_ndims(space);
        hsize_t nchunks = 0;
        BOOST_TEST_REQUIRE(H5Dget_num_chunks(dset, space, &nchunks) >= 0);
        for (hsize_t i = 0; i < nchunks; ++i) {
          hsize_t offset[32];
          unsigned mask = 0;
          haddr_t addr = 0;
          hsize_t size = 0;
          BOOST_TEST_REQUIRE(H5Dget_chunk_info(dset, space, i, offset, &mask, &addr, &size) >= 0);
          std::vector<uint64_t> origin(offset, offset + rank);
          const vh5::ChunkIndex::Entry* entry = index->Find(origin.data());
          BOOST_TEST_REQUIRE(entry != nullptr);
          BOOST_TEST(entry->offset == addr);
          BOOST_TEST(entry->size == size);
          BOOST_TEST(entry->filter_mask == mask);
          ++checked;
        }
        H5Sclose(space);
        H5Dclose(dset);
      }
    }
    ::close(fd);
    H5Fclose(file);
  }
  BOOST_TEST(checked > 500u);
}

// After a commit, readers read a raw_data's chunk index again with the one
// they knew (ChunkIndex::Read's `known`): only where chunks were added. On
// B-trees several levels deep (4 entries a node), 1-D and 2-D, grown in
// rounds along axis 0, it must give what a whole read gives.
BOOST_AUTO_TEST_CASE(chunk_index_read_with_a_known_one_equals_a_whole_read) {
  TempDir dir;
  for (int rank : {1, 2}) {
    BOOST_TEST_CONTEXT("rank " << rank) {
      std::string path = (dir.path() / ("grow" + std::to_string(rank) + ".h5")).string();
      hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
      H5Pset_istore_k(fcpl, 2);  // nodes of 4 entries: a tree many levels deep
      hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
      H5Pclose(fcpl);
      BOOST_TEST_REQUIRE(file >= 0);
      hsize_t dims[2] = {0, 3}, maxdims[2] = {H5S_UNLIMITED, 3}, chunk[2] = {4, 3};
      hid_t space = H5Screate_simple(rank, dims, maxdims);
      hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      H5Pset_chunk(dcpl, rank, chunk);
      hid_t dset =
          H5Dcreate2(file, "/raw_data", H5T_NATIVE_INT32, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      H5Pclose(dcpl);
      H5Sclose(space);
      std::optional<vh5::ChunkIndex> known;
      hsize_t rows = 0;
      for (hsize_t add : {hsize_t{40}, hsize_t{1}, hsize_t{3}, hsize_t{200}, hsize_t{37}}) {
        // Append `add` rows (not always whole chunks) and write them.
        hsize_t grown[2] = {rows + add, 3};
        H5Dset_extent(dset, grown);
        hid_t file_space = H5Dget_space(dset);
        hsize_t start[2] = {rows, 0}, count[2] = {add, 3};
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr);
        hid_t mem = H5Screate_simple(rank, count, nullptr);
        std::vector<int32_t> values(add * 3);
        for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int32_t>(rows * 3 + i);
        BOOST_TEST_REQUIRE(
            H5Dwrite(dset, H5T_NATIVE_INT32, mem, file_space, H5P_DEFAULT, values.data()) >= 0);
        H5Sclose(mem);
        H5Sclose(file_space);
        rows += add;
        BOOST_TEST_REQUIRE(H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0);
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        auto whole = vh5::ChunkIndex::Read(file, dset, fd);
        auto again = vh5::ChunkIndex::Read(file, dset, fd, known ? &*known : nullptr);
        ::close(fd);
        BOOST_TEST_REQUIRE(whole.ok(), whole.status().ToString());
        BOOST_TEST_REQUIRE(again.ok(), again.status().ToString());
        BOOST_TEST(again->size() == whole->size());
        BOOST_TEST(whole->size() == (rows + 3) / 4);
        for (uint64_t row = 0; row < rows; row += 4) {
          uint64_t origin[2] = {row, 0};
          const vh5::ChunkIndex::Entry* w = whole->Find(origin);
          const vh5::ChunkIndex::Entry* a = again->Find(origin);
          BOOST_TEST_REQUIRE(w != nullptr);
          BOOST_TEST_REQUIRE(a != nullptr, "row " << row);
          BOOST_TEST(a->offset == w->offset);
          BOOST_TEST(a->size == w->size);
        }
        known = std::move(*again);
      }
      H5Dclose(dset);
      H5Fclose(file);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_files_are_refused_with_a_clear_status) {
  TempDir dir;
  WriteFile(dir.path() / "random.h5", std::string(4096, '\x5a'));
  WriteFile(dir.path() / "empty.h5", "");
  WritePlainHdf5(dir.path() / "plain.h5", "/data");
  using Code = vh5::Status::Code;
  auto code = [&](const std::string& name) {
    return vh5::VersionedFile::OpenReadOnly((dir.path() / name).string()).status().code();
  };
  BOOST_TEST(code("random.h5") == Code::kNotHdf5);
  BOOST_TEST(code("empty.h5") == Code::kNotHdf5);
  BOOST_TEST(code("plain.h5") == Code::kNotVersioned);
  BOOST_TEST(code("missing.h5") == Code::kNotFound);
  std::string message =
      vh5::VersionedFile::OpenReadOnly((dir.path() / "plain.h5").string()).status().message();
  BOOST_TEST(message.find("plain.h5") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(timestamps_parse_and_format) {
  auto ns = vh5::ParseTimestamp("2024-01-01 13:00:00.000001+0000");
  BOOST_TEST_REQUIRE(ns.has_value());
  BOOST_TEST(*ns == 1704114000000001000LL);
  BOOST_TEST(vh5::FormatTimestamp(*ns) == "2024-01-01 13:00:00.000001+0000");
  BOOST_TEST(*vh5::ParseTimestamp("2024-01-01 14:00:00+0100") == 1704114000000000000LL);
  BOOST_TEST(!vh5::ParseTimestamp("yesterday").has_value());
  BOOST_TEST(!vh5::ParseTimestamp("2024-13-01 00:00:00").has_value());
}

BOOST_AUTO_TEST_CASE(python_literals_match_repr) {
  using vh5::py::ComplexRepr;
  using vh5::py::FloatRepr;
  BOOST_TEST(FloatRepr(0.0) == "0.0");
  BOOST_TEST(FloatRepr(-1.5) == "-1.5");
  BOOST_TEST(FloatRepr(0.1) == "0.1");
  BOOST_TEST(FloatRepr(1e-05) == "1e-05");
  BOOST_TEST(FloatRepr(0.0001) == "0.0001");
  BOOST_TEST(FloatRepr(1e16) == "1e+16");
  BOOST_TEST(FloatRepr(1e15) == "1000000000000000.0");
  BOOST_TEST(FloatRepr(123.25) == "123.25");
  BOOST_TEST(FloatRepr(0.1f, true) == "0.1");
  BOOST_TEST(FloatRepr(1.0 / 0.0) == "inf");
  BOOST_TEST(ComplexRepr(0, 0) == "0j");
  BOOST_TEST(ComplexRepr(1, 2) == "(1+2j)");
  BOOST_TEST(ComplexRepr(1.5, -0.5) == "(1.5-0.5j)");
  BOOST_TEST(vh5::py::BytesRepr("a'\x01") == "b\"a'\\x01\"");
}

BOOST_AUTO_TEST_CASE(vlen_lines_round_trip) {
  std::vector<std::string> elements = {"plain", "", "back\\slash", "new\nline", "cr\r", "ünï"};
  std::string text = vh5::EncodeLines(elements);
  BOOST_TEST(text == "plain\n\nback\\\\slash\nnew\\nline\ncr\\r\nünï\n");
  auto decoded = vh5::DecodeLines(text);
  BOOST_TEST_REQUIRE(decoded.ok());
  BOOST_TEST(*decoded == elements, boost::test_tools::per_element());
  BOOST_TEST(!vh5::DecodeLines("no newline").ok());
  BOOST_TEST(!vh5::DecodeLines("bad \\x escape\n").ok());
}

BOOST_AUTO_TEST_SUITE_END()

// The zarr/ view's chunks: a stored uncompressed or gzip+shuffle chunk is
// served as it lies in the file (one file run, nothing decoded), an edge
// chunk whole; LZF is decoded; a chunk of fill value has no cell.
BOOST_AUTO_TEST_CASE(zarr_cells_of_stored_chunks_are_the_stored_bytes) {
  TempDir dir;
  std::string path = (dir.path() / "z.h5").string();
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(path).ok());
  std::string g(40 * 10 * 4, '\0'), u(40 * 4, '\0'), l(40 * 8, '\0');
  for (size_t i = 0; i < g.size(); ++i)
    if (i / 40 < 16 || i / 40 >= 32) g[i] = static_cast<char>(i * 7 + 1);  // rows 16-31: fill
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<char>(i + 3);
  for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<char>(i % 5);
  vh5::NewVersion v;
  v.name = "v1";
  v.datasets.push_back({"g", "<f4", {40, 10}, {16, 10}, "", "gzip:4,shuffle", nullptr, g, {}, {}});
  v.datasets.push_back({"u", "<i4", {40}, {16}, "", "none", nullptr, u, {}, {}});
  v.datasets.push_back({"l", "<f8", {40}, {16}, "", "lzf", nullptr, l, {}, {}});
  BOOST_TEST_REQUIRE(vh5::CommitVersion(path, v).ok());
  auto file = vh5::VersionedFile::OpenReadOnly(path);
  BOOST_TEST_REQUIRE(file.ok());
  auto version = (*file)->GetVersion("v1");
  BOOST_TEST_REQUIRE(version.ok());
  auto open = [&](const char* name) {
    auto d = (*version)->OpenDataset(name);
    BOOST_TEST_REQUIRE(d.ok());
    return *d;
  };
  // Whole bytes of a cell: through Locate's file run when it gives one.
  auto cell_bytes = [](const vh5::Dataset& cell, bool* in_place) {
    std::vector<vh5::Dataset::Run> runs;
    vh5::ReadHold hold;
    BOOST_TEST_REQUIRE(cell.Locate(0, cell.size(), &runs, &hold).ok());
    std::string bytes(cell.size(), '\0');
    *in_place = runs.size() == 1 && runs[0].file_offset >= 0 && runs[0].length == cell.size();
    if (*in_place) {
      BOOST_TEST(pread(hold.fd(), bytes.data(), bytes.size(), runs[0].file_offset) ==
                 static_cast<ssize_t>(bytes.size()));
      return bytes;
    }
    auto n = cell.Read(0, bytes.size(), bytes.data());
    BOOST_TEST_REQUIRE(n.ok());
    return bytes;
  };

  auto gd = open("g");
  BOOST_TEST((gd->MappedCells() == std::vector<uint64_t>{0, 2}));
  std::string zarray = vh5::ZarrArrayJson(gd->info());
  BOOST_TEST(zarray.find("\"id\": \"zlib\",\n        \"level\": 4") != std::string::npos, zarray);
  BOOST_TEST(zarray.find("\"elementsize\": 4") != std::string::npos, zarray);
  for (uint64_t cell : {0, 2}) {
    auto chunk = gd->OpenCell(cell);
    BOOST_TEST_REQUIRE(chunk.ok());
    bool in_place = false;
    std::string stored = cell_bytes(**chunk, &in_place);
    BOOST_TEST(in_place, "cell " << cell);
    // zlib, then unshuffle: the whole chunk, the edge's rows first.
    std::string shuffled(16 * 10 * 4, '\0');
    uLongf size = shuffled.size();
    BOOST_TEST_REQUIRE(uncompress(reinterpret_cast<Bytef*>(shuffled.data()), &size,
                                  reinterpret_cast<const Bytef*>(stored.data()),
                                  stored.size()) == Z_OK);
    std::string raw(shuffled.size(), '\0');
    for (size_t e = 0; e < 160; ++e)
      for (size_t k = 0; k < 4; ++k) raw[e * 4 + k] = shuffled[k * 160 + e];
    size_t rows = cell == 2 ? 8 : 16;
    BOOST_TEST(raw.substr(0, rows * 40) == g.substr(cell * 16 * 40, rows * 40), "cell " << cell);
  }

  auto ud = open("u");
  auto edge = ud->OpenCell(2);
  BOOST_TEST_REQUIRE(edge.ok());
  BOOST_TEST((*edge)->size() == 64u);
  bool in_place = false;
  BOOST_TEST(cell_bytes(**edge, &in_place).substr(0, 32) == u.substr(128));
  BOOST_TEST(in_place);

  auto ld = open("l");
  BOOST_TEST(vh5::ZarrArrayJson(ld->info()).find("\"compressor\": null") != std::string::npos);
  auto decoded = ld->OpenCell(1);
  BOOST_TEST_REQUIRE(decoded.ok());
  BOOST_TEST(cell_bytes(**decoded, &in_place) == l.substr(128, 128));
  BOOST_TEST(!in_place);

  std::vector<uint64_t> shape{40, 10}, chunks{16, 4};
  for (uint64_t cell = 0; cell < 9; ++cell)
    BOOST_TEST(
        vh5::ZarrCellOfKey(vh5::ZarrChunkKey(cell, shape, chunks), shape, chunks).value_or(99) ==
        cell);
  BOOST_TEST(vh5::ZarrChunkKey(5, shape, chunks) == "1.2");
  BOOST_TEST(!vh5::ZarrCellOfKey("3.0", shape, chunks));
  BOOST_TEST(!vh5::ZarrCellOfKey("01.0", shape, chunks));
}
