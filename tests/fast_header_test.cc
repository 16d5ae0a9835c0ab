// The fast reader of virtual dataset headers (virtual_dataset_header.h)
// against HDF5's own API on every fixture, on files our writer and h5py
// (libver="latest") make, and on hostile input.
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <random>

#include "format/attribute_values.h"
#include "format/chunk_map.h"
#include "format/datatype_message.h"
#include "format/file_bytes.h"
#include "format/node_fingerprint.h"
#include "format/object_header.h"
#include "format/virtual_dataset_header.h"
#include "format/virtual_mappings.h"
#include "hdf5/dtype.h"
#include "hdf5/h5_handle.h"
#include "manifest.h"
#include "read/file_core.h"
#include "read/version_dataset.h"
#include "test_util.h"
#include "util/byte_decoder.h"
#include "util/checksum.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

using namespace vh5test;
using Code = vh5::Status::Code;
namespace h5 = vh5::h5;

namespace {

struct Counts {
  size_t datasets = 0;  // virtual datasets the fast reader decoded and HDF5 agreed on
  size_t mappings = 0;
  size_t declined = 0;  // virtual datasets it left to HDF5 (Unsupported)
  size_t plain = 0;     // non-virtual datasets (always left to HDF5)
};

// Every dataset below `root` of `file`, absolute paths.
std::vector<std::string> DatasetsUnder(hid_t file, const std::string& root) {
  std::vector<std::string> out;
  struct Visit {
    std::string root;
    std::vector<std::string>* out;
  } visit{root, &out};
  H5Ovisit_by_name2(
      file, root.empty() ? "/" : root.c_str(), H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
        auto* v = static_cast<Visit*>(data);
        if (info->type == H5O_TYPE_DATASET) v->out->push_back(v->root + "/" + name);
        return 0;
      },
      &visit, H5O_INFO_BASIC, H5P_DEFAULT);
  return out;
}

// HDF5's box of a mapping's selection, as ChunkMap::Parse reads it.
bool Hdf5Box(hid_t space, std::vector<uint64_t>* start, std::vector<uint64_t>* count) {
  int rank = H5Sget_simple_extent_ndims(space);
  start->assign(rank, 0);
  count->assign(rank, 0);
  H5S_sel_type type = H5Sget_select_type(space);
  if (type == H5S_SEL_NONE) return true;
  if (type == H5S_SEL_ALL) {
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    count->assign(dims.begin(), dims.end());
    return true;
  }
  if (type != H5S_SEL_HYPERSLABS || H5Sis_regular_hyperslab(space) <= 0) return false;
  std::vector<hsize_t> s(rank), stride(rank), n(rank), block(rank);
  H5Sget_regular_hyperslab(space, s.data(), stride.data(), n.data(), block.data());
  for (int d = 0; d < rank; ++d) {
    (*start)[d] = s[d];
    (*count)[d] = n[d] * block[d];
  }
  return true;
}

// The fast reader agrees with HDF5 on the dataset at `path` (or declines).
void CompareOne(hid_t file, int fd, const std::string& path, Counts* counts) {
  BOOST_TEST_CONTEXT(path) {
    h5::Handle dset(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
    BOOST_TEST_REQUIRE(dset.valid());
    h5::Handle dcpl(H5Dget_create_plist(dset.get()));
    h5::Handle type(H5Dget_type(dset.get()));
    h5::Handle space(H5Dget_space(dset.get()));
    auto fast = vh5::ReadVirtualDatasetHeader(file, fd, path);
    if (H5Pget_layout(dcpl.get()) != H5D_VIRTUAL) {
      BOOST_TEST(fast.status().code() == Code::kUnsupported);
      ++counts->plain;
      return;
    }
    if (!fast.ok()) {
      BOOST_TEST(fast.status().code() == Code::kUnsupported, fast.status().ToString());
      ++counts->declined;
      return;
    }
    // Type: the same HDF5 type, spelled the same.
    BOOST_TEST(H5Tequal(fast->type.get(), type.get()) > 0);
    auto want_dtype = vh5::DescribeType(type.get());
    auto got_dtype = vh5::DescribeType(fast->type.get());
    BOOST_TEST_REQUIRE(want_dtype.ok() == got_dtype.ok());
    if (want_dtype.ok()) BOOST_TEST(got_dtype->numpy == want_dtype->numpy);
    // Shape.
    int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    BOOST_TEST(fast->shape == std::vector<uint64_t>(dims.begin(), dims.end()),
               boost::test_tools::per_element());
    // Fill value: HDF5's bytes when defined, else zeros.
    bool vlen = H5Tget_class(type.get()) == H5T_VLEN || H5Tis_variable_str(type.get()) > 0;
    if (!vlen) {
      std::string want(H5Tget_size(type.get()), '\0');
      H5D_fill_value_t state;
      H5Pfill_value_defined(dcpl.get(), &state);
      if (state != H5D_FILL_VALUE_UNDEFINED) H5Pget_fill_value(dcpl.get(), type.get(), want.data());
      BOOST_TEST((fast->fill == want));
    }
    // Every mapping, in order.
    size_t n = 0;
    H5Pget_virtual_count(dcpl.get(), &n);
    const vh5::MappingList& list = fast->mappings;
    BOOST_TEST_REQUIRE(list.entries.size() == n);
    BOOST_TEST(list.rank == static_cast<size_t>(rank));
    std::vector<uint64_t> vs, vc, ss, sc;
    for (size_t i = 0; i < n; ++i) {
      const auto& e = list.entries[i];
      char name[1024];
      H5Pget_virtual_dsetname(dcpl.get(), i, name, sizeof name);
      BOOST_TEST(list.sources[e.source] == name);
      H5Pget_virtual_filename(dcpl.get(), i, name, sizeof name);
      BOOST_TEST(std::string(name) == ".");
      h5::Handle vspace(H5Pget_virtual_vspace(dcpl.get(), i));
      h5::Handle sspace(H5Pget_virtual_srcspace(dcpl.get(), i));
      BOOST_TEST_REQUIRE(Hdf5Box(vspace.get(), &vs, &vc));
      BOOST_TEST_REQUIRE(Hdf5Box(sspace.get(), &ss, &sc));
      auto same = [&](const uint64_t* got, const std::vector<uint64_t>& want) {
        return std::equal(want.begin(), want.end(), got);
      };
      BOOST_TEST(same(list.VirtualStart(e), vs), "mapping " << i);
      BOOST_TEST(same(list.VirtualCount(e), vc), "mapping " << i);
      BOOST_TEST(same(list.SourceStart(e), ss), "mapping " << i);
      BOOST_TEST(same(list.SourceCount(e), sc), "mapping " << i);
    }
    // The chunk maps built both ways are the same.
    std::vector<uint64_t> cells = fast->shape;
    for (uint64_t& c : cells) c = std::max<uint64_t>(1, std::min<uint64_t>(c, 7));
    auto a = vh5::ChunkMap::FromMappings(list, fast->shape, cells);
    auto b = vh5::ChunkMap::Parse(dcpl.get(), fast->shape, cells);
    BOOST_TEST_REQUIRE(a.ok() == b.ok());
    if (a.ok()) {
      BOOST_TEST(a->sources() == b->sources(), boost::test_tools::per_element());
      uint64_t grid = 1;
      for (size_t d = 0; d < cells.size(); ++d) grid *= (fast->shape[d] + cells[d] - 1) / cells[d];
      for (uint64_t cell = 0; cell < grid && cell < 100000; ++cell) {
        auto pa = a->PiecesOf(cell);
        auto pb = b->PiecesOf(cell);
        BOOST_TEST_REQUIRE(pa.size() == pb.size());
        for (size_t k = 0; k < pa.size(); ++k)
          for (size_t d = 0; d < cells.size(); ++d) {
            BOOST_TEST(a->VirtualStart(pa[k])[d] == b->VirtualStart(pb[k])[d]);
            BOOST_TEST(a->Count(pa[k])[d] == b->Count(pb[k])[d]);
            BOOST_TEST(a->SourceStart(pa[k])[d] == b->SourceStart(pb[k])[d]);
          }
      }
    }
    // H5Tencode of the type is the message HDF5 stored (bytes 2.. of the encoding).
    ++counts->datasets;
    counts->mappings += n;
  }
}

Counts CompareFile(const fs::path& path, const std::string& root) {
  Counts counts;
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  BOOST_TEST_REQUIRE(file.valid());
  vh5::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  for (const std::string& dataset : DatasetsUnder(file.get(), root))
    CompareOne(file.get(), fd.get(), dataset, &counts);
  return counts;
}

// LoadVersionDataset with the fast reader and without it give the same dataset.
void CompareLoads(const fs::path& path, const std::string& root) {
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  BOOST_TEST_REQUIRE(file.valid());
  auto fd = std::make_shared<vh5::Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::map<std::string, std::shared_ptr<vh5::RawData>> raws;
  vh5::RawDataResolver resolve =
      [&](const std::string& raw) -> vh5::Result<std::shared_ptr<vh5::RawData>> {
    auto it = raws.find(raw);
    if (it != raws.end()) return it->second;
    VH5_ASSIGN_OR_RETURN(auto opened, vh5::RawData::Open(file.get(), fd, raw));
    raws[raw] = opened;
    return opened;
  };
  for (const std::string& dataset : DatasetsUnder(file.get(), root)) {
    BOOST_TEST_CONTEXT(dataset) {
      auto fast = vh5::LoadVersionDataset(file.get(), fd->get(), dataset, resolve);
      auto slow = vh5::LoadVersionDataset(file.get(), -1, dataset, resolve);
      BOOST_TEST_REQUIRE(fast.ok() == slow.ok(), fast.status().ToString()
                                                     << " / " << slow.status().ToString());
      if (!fast.ok()) {
        BOOST_TEST(fast.status().code() == slow.status().code());
        continue;
      }
      const vh5::DatasetInfo& a = (*fast)->info();
      const vh5::DatasetInfo& b = (*slow)->info();
      BOOST_TEST(a.dtype.numpy == b.dtype.numpy);
      BOOST_TEST(a.shape == b.shape, boost::test_tools::per_element());
      BOOST_TEST(a.chunks == b.chunks, boost::test_tools::per_element());
      BOOST_TEST((a.fill_bytes == b.fill_bytes));
      BOOST_TEST(a.fill_text == b.fill_text);
      BOOST_TEST(a.compression == b.compression);
      BOOST_TEST_REQUIRE(a.attrs.size() == b.attrs.size());
      for (size_t i = 0; i < a.attrs.size(); ++i) {
        BOOST_TEST(a.attrs[i].name == b.attrs[i].name);
        BOOST_TEST(a.attrs[i].text == b.attrs[i].text);
        BOOST_TEST(a.attrs[i].type == b.attrs[i].type);
      }
      BOOST_TEST_REQUIRE((*fast)->size() == (*slow)->size());
      uint64_t size = std::min<uint64_t>((*fast)->size(), 4 << 20);
      std::string x(size, '\0'), y(size, '\0');
      auto nx = (*fast)->Read(0, size, x.data());
      auto ny = (*slow)->Read(0, size, y.data());
      BOOST_TEST_REQUIRE((nx.ok() && ny.ok()), nx.status().ToString()
                                                   << " / " << ny.status().ToString());
      BOOST_TEST((x == y));
    }
  }
}

// A copy of `from` at `to` with `bytes` written at `offset`.
void PatchedCopy(const fs::path& from, const fs::path& to, uint64_t offset,
                 std::string_view bytes) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  vh5::Fd fd(::open(to.c_str(), O_WRONLY));
  BOOST_TEST_REQUIRE(::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                     static_cast<ssize_t>(bytes.size()));
}

uint64_t HeaderAddress(hid_t file, const std::string& path) {
  H5O_info_t info;
  BOOST_TEST_REQUIRE(H5Oget_info_by_name2(file, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) >=
                     0);
  return info.addr;
}

std::string Le(uint64_t v, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// A mapping list block: encoding 0, the entries, the checksum.
std::string Block(uint64_t count, const std::string& entries, uint8_t encoding = 0) {
  std::string b(1, static_cast<char>(encoding));
  b += Le(count, 8) + entries;
  uint32_t sum = vh5::MetadataChecksum(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()), b.size()));
  return b + Le(sum, 4);
}

std::string Hyper1(const std::vector<uint64_t>& start, const std::vector<uint64_t>& end,
                   uint32_t rank, uint32_t blocks = 1) {
  std::string s = Le(2, 4) + Le(1, 4) + Le(0, 4) + Le(0, 4) + Le(rank, 4) + Le(blocks, 4);
  for (uint64_t v : start) s += Le(v, 4);
  for (uint64_t v : end) s += Le(v, 4);
  return s;
}

std::string Hyper2(uint64_t start, uint64_t stride, uint64_t count, uint64_t block) {
  return Le(2, 4) + Le(2, 4) + std::string(1, '\x01') + Le(0, 4) + Le(1, 4) + Le(start, 8) +
         Le(stride, 8) + Le(count, 8) + Le(block, 8);
}

vh5::Result<vh5::MappingList> Decode(const std::string& block,
                                     std::vector<uint64_t> shape = {100}) {
  return vh5::DecodeMappingList(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(block.data()), block.size()), 8,
      shape);
}

const char kLatestVds[] = R"PY(
import sys, h5py, numpy as np
from h5py import h5s
f = h5py.File(sys.argv[1], "w", libver="latest")
src = f.create_dataset("src", data=np.arange(200, dtype="<f8").reshape(20, 10), chunks=(4, 10))
isrc = f.create_dataset("isrc", data=np.arange(60, dtype="<i4"), chunks=(8,))
cplx = f.create_dataset("csrc", data=np.ones(10, dtype="<c16"), chunks=(5,))
# Regular single-block mappings, a fill value, a 2-D shape.
lay = h5py.VirtualLayout(shape=(30, 10), dtype="<f8")
vs = h5py.VirtualSource(".", "src", shape=(20, 10))
lay[0:4] = vs[8:12]
lay[10:14] = vs[0:4]
lay[20:28, 2:6] = vs[0:8, 0:4]
d = f.create_virtual_dataset("regular", lay, fillvalue=-1.5)
for i in range(6):  # compact attributes too large for the first chunk
    d.attrs["a%02d" % i] = np.arange(200, dtype="<f8")
# A regular selection of touching blocks (count 3, stride = block).
lay = h5py.VirtualLayout(shape=(60,), dtype="<i4")
vi = h5py.VirtualSource(".", "isrc", shape=(60,))
lay[0:48] = vi[0:48]
f.create_virtual_dataset("touching", lay, fillvalue=7)
# A strided and a whole-source mapping: left to HDF5.
lay = h5py.VirtualLayout(shape=(60,), dtype="<i4")
lay[0:20:2] = vi[0:10]
f.create_virtual_dataset("strided", lay)
lay = h5py.VirtualLayout(shape=(60,), dtype="<i4")
lay[:] = vi
f.create_virtual_dataset("whole", lay)
# An irregular selection (two blocks), through the low-level API.
vspace = h5s.create_simple((60,))
vspace.select_hyperslab((0,), (5,))
vspace.select_hyperslab((10,), (5,), op=h5s.SELECT_OR)
sspace = h5s.create_simple((60,))
sspace.select_hyperslab((0,), (10,))
dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
dcpl.set_virtual(vspace, b".", b"isrc", sspace)
h5py.h5d.create(f.id, b"irregular", h5py.h5t.STD_I32LE, h5s.create_simple((60,)), dcpl=dcpl)
# Complex numbers (a compound), with creation order tracked on the header.
lay = h5py.VirtualLayout(shape=(10,), dtype="<c16")
lay[0:5] = h5py.VirtualSource(".", "csrc", shape=(10,))[5:10]
d = f.create_virtual_dataset("complex", lay, fillvalue=1 + 2j)
f.close()
f = h5py.File(sys.argv[1], "a", libver="latest")
# Attribute creation order tracked: 2 more bytes in every message header.
vspace = h5s.create_simple((60,))
vspace.select_hyperslab((8,), (8,))
sspace = h5s.create_simple((60,))
sspace.select_hyperslab((16,), (8,))
dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
dcpl.set_attr_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
dcpl.set_virtual(vspace, b".", b"isrc", sspace)
h5py.h5d.create(f.id, b"ordered", h5py.h5t.STD_I32LE, h5s.create_simple((60,)), dcpl=dcpl)
f["ordered"].attrs["z"] = 1
f["ordered"].attrs["a"] = "text"
)PY";

}  // namespace

BOOST_AUTO_TEST_SUITE(fast_header)

// The engine registers LZF when it opens a file; these tests open files with HDF5 directly.
BOOST_AUTO_TEST_CASE(register_lzf) { h5::RegisterLzfFilter(); }

BOOST_AUTO_TEST_CASE(agrees_with_hdf5_on_every_fixture,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  h5::SilenceAutomaticErrorPrinting();
  fs::path fixtures = *SharedFixtures();
  Counts total;
  for (const ManifestFile& mf : LoadAllManifests(fixtures)) {
    BOOST_TEST_CONTEXT(mf.name) {
      Counts c = CompareFile(fixtures / mf.name, "/_version_data/versions");
      total.datasets += c.datasets;
      total.mappings += c.mappings;
      total.declined += c.declined;
      total.plain += c.plain;
      CompareLoads(fixtures / mf.name, "/_version_data/versions");
    }
  }
  BOOST_TEST_MESSAGE("fixtures: " << total.datasets << " virtual datasets, " << total.mappings
                                  << " mappings agree; " << total.declined << " declined, "
                                  << total.plain << " not virtual");
  BOOST_TEST(total.declined == 0u);
  BOOST_TEST(total.datasets > 100u);
  BOOST_TEST(total.mappings > 1000u);
}

// What the engine sees of a dataset through HDF5, for comparing two versions'.
std::string SeenThroughHdf5(const vh5::Dataset& d) {
  const vh5::DatasetInfo& info = d.info();
  std::string out = info.dtype.numpy + "|" + info.compression + "|" + info.fill_bytes + "|";
  for (uint64_t x : info.shape) out += std::to_string(x) + ",";
  out += "|";
  for (const vh5::Attribute& a : info.attrs) out += a.name + "=" + a.type + ":" + a.text + ";";
  return out + "|" + d.ContentKey();
}

// Own times (VersionedFile::ChangedAtNs) compare a node with its previous
// version's by NodeFingerprints, from the file's bytes. On every fixture it
// must read every dataset of every version (no fallback to HDF5), and call
// two versions of a dataset equal exactly when HDF5 shows them equal.
BOOST_AUTO_TEST_CASE(node_fingerprints_read_every_fixture_and_tell_changes_as_hdf5_does,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  h5::SilenceAutomaticErrorPrinting();
  fs::path fixtures = *SharedFixtures();
  size_t pairs = 0, changed = 0;
  for (const ManifestFile& mf : LoadAllManifests(fixtures)) {
    BOOST_TEST_CONTEXT(mf.name) {
      fs::path path = fixtures / mf.name;
      auto vf = vh5::VersionedFile::OpenReadOnly(path.string());
      BOOST_TEST_REQUIRE(vf.ok(), vf.status().ToString());
      h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
      BOOST_TEST_REQUIRE(file.valid());
      vh5::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      auto bytes = vh5::FileBytes::Of(file.get(), fd.get());
      BOOST_TEST_REQUIRE(bytes.ok());
      h5::Handle fcpl(H5Fget_create_plist(file.get()));
      unsigned internal_k = 0, leaf_k = 0;
      BOOST_TEST_REQUIRE(H5Pget_sym_k(fcpl.get(), &internal_k, &leaf_k) >= 0);
      vh5::NodeFingerprints prints(*bytes, internal_k, leaf_k);
      auto group_of = [&](const std::string& version) {
        H5O_info_t info;
        std::string at = "/_version_data/versions/" + version;
        BOOST_TEST_REQUIRE(
            H5Oget_info_by_name2(file.get(), at.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0);
        return static_cast<uint64_t>(info.addr);
      };
      for (const vh5::VersionInfo& info : (*vf)->ListVersions()) {
        auto prev = (*vf)->GetVersionInfo(info.prev_version);
        if (!prev.ok()) continue;
        auto now_tree = (*vf)->GetVersion(info.name);
        auto prev_tree = (*vf)->GetVersion(prev->name);
        BOOST_TEST_REQUIRE(now_tree.ok());
        BOOST_TEST_REQUIRE(prev_tree.ok());
        std::vector<std::string> groups = {""};
        while (!groups.empty()) {
          std::string g = groups.back();
          groups.pop_back();
          auto children = (*now_tree)->List(g);
          BOOST_TEST_REQUIRE(children.ok());
          for (const vh5::DirEntry& e : *children) {
            std::string child = g.empty() ? e.name : g + "/" + e.name;
            if (e.kind == vh5::NodeKind::kGroup) {
              groups.push_back(child);
              continue;
            }
            auto before = (*prev_tree)->OpenDataset(child);
            if (!before.ok()) continue;  // made in this version
            auto now = (*now_tree)->OpenDataset(child);
            BOOST_TEST_REQUIRE(now.ok());
            auto fp_now = prints.Of(group_of(info.name), child);
            auto fp_before = prints.Of(group_of(prev->name), child);
            BOOST_TEST_REQUIRE(fp_now.ok(),
                               info.name << "/" << child << ": " << fp_now.status().ToString());
            BOOST_TEST_REQUIRE(fp_before.ok(),
                               prev->name << "/" << child << ": " << fp_before.status().ToString());
            BOOST_TEST_REQUIRE(fp_now->has_value());
            bool same = SeenThroughHdf5(**now) == SeenThroughHdf5(**before);
            BOOST_TEST((**fp_now == **fp_before) == same, info.name << "/" << child);
            ++pairs;
            changed += !same;
          }
        }
      }
    }
  }
  BOOST_TEST_MESSAGE("fixtures: " << pairs << " dataset pairs, " << changed << " changed");
  BOOST_TEST(pairs > 300u);
  BOOST_TEST(changed > 20u);
  BOOST_TEST(pairs - changed > 10u);
}

BOOST_AUTO_TEST_CASE(agrees_on_files_our_writer_makes) {
  h5::SilenceAutomaticErrorPrinting();
  TempDir dir;
  fs::path demo = dir.path() / "demo.h5";
  BOOST_TEST_REQUIRE(Run({Vh5Binary(), "demo", demo.string()}).exit_status == 0);
  Counts c = CompareFile(demo, "/_version_data/versions");
  BOOST_TEST(c.datasets > 0u);
  BOOST_TEST(c.declined == 0u);
  CompareLoads(demo, "/_version_data/versions");

  fs::path file = dir.path() / "w.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  vh5::NewVersion v;
  v.name = "v1";
  vh5::NewDataset grid;
  grid.path = "g/grid";
  grid.dtype = "<i8";
  grid.shape = {37, 11};
  grid.chunks = {8, 4};
  grid.fill_bytes = std::string("\x05\0\0\0\0\0\0\0", 8);
  for (int i = 0; i < 37 * 11; ++i) grid.data += Le(i % 13 == 0 ? 5 : i, 8);
  grid.attrs = {{"units", "m", ""}, {"scale", "2.5", "<f8"}};
  vh5::NewDataset text;
  text.path = "names";
  text.dtype = "vlen-str";
  text.shape = {5};
  text.chunks = {2};
  text.strings = {"a", "bb", "", "dddd", "e"};
  vh5::NewDataset flags;
  flags.path = "flags";
  flags.dtype = "|b1";
  flags.shape = {9000};
  flags.chunks = {1000};
  flags.data = std::string(9000, '\1');
  flags.compression = "gzip:4";
  v.datasets = {grid, text, flags};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  c = CompareFile(file, "/_version_data/versions");
  BOOST_TEST(c.datasets == 3u);
  BOOST_TEST(c.mappings > 20u);
  CompareLoads(file, "/_version_data/versions");
}

BOOST_AUTO_TEST_CASE(agrees_on_h5py_latest_format_files) {
  h5::SilenceAutomaticErrorPrinting();
  TempDir dir;
  fs::path file = dir.path() / "latest.h5";
  CommandResult made = Run({"/usr/bin/python3", "-c", kLatestVds, file.string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
  Counts c = CompareFile(file, "");
  BOOST_TEST(c.datasets == 4u);  // regular, touching, complex, ordered
  BOOST_TEST(c.declined == 3u);  // strided, whole, irregular
  CompareLoads(file, "");

  // The headers there are version 2, with a continuation chunk.
  h5::Handle h5(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  vh5::Fd fd(::open(file.c_str(), O_RDONLY));
  auto bytes = vh5::FileBytes::Of(h5.get(), fd.get());
  BOOST_TEST_REQUIRE(bytes.ok());
  auto header = vh5::ObjectHeader::Read(*bytes, HeaderAddress(h5.get(), "/regular"));
  BOOST_TEST_REQUIRE(header.ok(), header.status().ToString());
  BOOST_TEST(header->version() == 2);
  size_t continuations = 0;
  for (const auto& m : header->messages()) continuations += m.type == vh5::kContinuationMessage;
  BOOST_TEST(continuations > 0u);
  uint64_t ordered = HeaderAddress(h5.get(), "/ordered");
  std::string content = ReadFile(file);
  BOOST_TEST(content.substr(ordered, 4) == "OHDR");
  BOOST_TEST((content[ordered + 5] & 0x04) != 0, "creation order tracked");
}

// Groups with attributes of every form versions carry, and some they never
// do, in both header versions (libver "latest": version 3 attribute messages;
// 20 attributes there go to dense storage).
const char kAttributeForms[] = R"PY(
import sys, h5py, numpy as np
from h5py import h5a, h5s, h5t
for name, libver in (("v1.h5", "earliest"), ("latest.h5", "latest")):
    f = h5py.File(sys.argv[1] + "/" + name, "w", libver=libver)
    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_attr_phase_change(64, 50)  # all compact, in either version
    g = h5py.Group(h5py.h5g.create(f.id, b"g", gcpl=gcpl))
    g.attrs["vstr"] = "2024-01-01 13:00:00.000001+0000"
    g.attrs["vempty"] = ""
    g.attrs["utf8"] = "v\u00e9rsion"
    g.attrs["bytes"] = np.bytes_(b"abc")
    g.attrs["fixed_one"] = np.array([b"xy"], dtype="S4")
    for pad, label in ((h5t.STR_NULLTERM, "nullterm"), (h5t.STR_NULLPAD, "nullpad"),
                       (h5t.STR_SPACEPAD, "spacepad")):
        t = h5t.C_S1.copy(); t.set_size(8); t.set_strpad(pad)
        a = h5a.create(g.id, label.encode(), t, h5s.create(h5s.SCALAR))
        a.write(np.array(b"ab c  ", dtype="S8"))
    g.attrs["i1"] = np.int8(-3)
    g.attrs["u8"] = np.uint64(2**63 + 5)
    g.attrs["zero"] = np.int32(0)
    g.attrs["yes"] = True
    g.attrs["no"] = False
    g.attrs["one"] = np.array([7], dtype="<i2")
    g.attrs["big"] = np.int64(-1).newbyteorder(">")
    g.attrs["float"] = 1.5
    g.attrs["ints"] = np.arange(3)
    g.attrs["strs"] = ["a", "b"]
    d = f.create_group("dense")
    for k in range(20):
        d.attrs["a%02d" % k] = "x"
    d.attrs["committed"] = True
    f.close()
)PY";

// AttributeValues (the version pass's reader of prev_version, timestamp and
// committed) gives what h5::ReadStringAttribute and h5::ReadIntAttribute
// give wherever it answers, and declines (Unsupported) the rest.
BOOST_AUTO_TEST_CASE(attribute_values_read_as_hdf5_does) {
  h5::SilenceAutomaticErrorPrinting();
  TempDir dir;
  CommandResult made = Run({"/usr/bin/python3", "-c", kAttributeForms, dir.path().string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
  const std::vector<std::string> strings = {"vstr",      "vempty",   "utf8",    "bytes",
                                            "fixed_one", "nullterm", "nullpad", "spacepad"};
  const std::vector<std::string> integers = {"i1", "u8", "zero", "yes", "no", "one", "big"};
  const std::vector<std::string> others = {"float", "ints", "strs", "missing"};
  for (const char* name : {"v1.h5", "latest.h5"}) {
    BOOST_TEST_CONTEXT(name) {
      fs::path path = dir.path() / name;
      h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
      BOOST_TEST_REQUIRE(file.valid());
      vh5::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      auto bytes = vh5::FileBytes::Of(file.get(), fd.get());
      BOOST_TEST_REQUIRE(bytes.ok());
      vh5::GlobalHeapObjects heap(*bytes);
      vh5::AttributeValues values(*bytes, &heap);
      auto header = vh5::ObjectHeader::Read(*bytes, HeaderAddress(file.get(), "/g"));
      BOOST_TEST_REQUIRE(header.ok(), header.status().ToString());
      h5::Handle group(H5Gopen2(file.get(), "/g", H5P_DEFAULT));
      for (const std::string& a : strings) {
        auto ours = values.String(*header, a);
        auto theirs = h5::ReadStringAttribute(group.get(), a);
        BOOST_TEST_REQUIRE(theirs.ok(), a);
        BOOST_TEST_REQUIRE(ours.ok(), a << ": " << ours.status().ToString());
        BOOST_TEST(*ours == *theirs, a);
        BOOST_TEST(*values.Has(*header, a), a);
      }
      for (const std::string& a : integers) {
        auto ours = values.NonZero(*header, a);
        auto theirs = h5::ReadIntAttribute(group.get(), a);
        BOOST_TEST_REQUIRE(theirs.ok(), a);
        BOOST_TEST_REQUIRE(ours.ok(), a << ": " << ours.status().ToString());
        BOOST_TEST(*ours == (*theirs != 0), a);
      }
      for (const std::string& a : others) {
        auto text = values.String(*header, a);
        auto nonzero = values.NonZero(*header, a);
        BOOST_TEST(!text.ok(), a);
        BOOST_TEST(!nonzero.ok(), a);
        if (a == "missing") {
          BOOST_TEST(text.status().IsNotFound());
          BOOST_TEST(!*values.Has(*header, a));
        } else {
          BOOST_TEST((text.status().code() == Code::kUnsupported), a);
          BOOST_TEST(*values.Has(*header, a), a);
        }
      }
      // Dense attributes (latest) are not read here; compact ones are.
      auto dense = vh5::ObjectHeader::Read(*bytes, HeaderAddress(file.get(), "/dense"));
      BOOST_TEST_REQUIRE(dense.ok());
      auto committed = values.NonZero(*dense, "committed");
      if (std::string(name) == "latest.h5") {
        BOOST_TEST((committed.status().code() == Code::kUnsupported));
      } else {
        BOOST_TEST_REQUIRE(committed.ok());
        BOOST_TEST(*committed);
      }
    }
  }
}

// H5Tdecode of the message with H5Tencode's 2-byte prefix is the type HDF5
// reads, and H5Tencode of that type gives back the prefix and the message.
BOOST_AUTO_TEST_CASE(datatype_messages_round_trip_through_h5tencode,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  h5::SilenceAutomaticErrorPrinting();
  fs::path path = *SharedFixtures() / "dtypes.h5";
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  vh5::Fd fd(::open(path.c_str(), O_RDONLY));
  auto bytes = vh5::FileBytes::Of(file.get(), fd.get());
  size_t checked = 0;
  for (const std::string& dataset : DatasetsUnder(file.get(), "/_version_data/versions")) {
    BOOST_TEST_CONTEXT(dataset) {
      auto header = vh5::ObjectHeader::Read(*bytes, HeaderAddress(file.get(), dataset));
      BOOST_TEST_REQUIRE(header.ok());
      const vh5::HeaderMessage* m = header->Find(vh5::kDatatypeMessage);
      BOOST_TEST_REQUIRE(m != nullptr);
      auto length = vh5::DatatypeLength(m->data);
      BOOST_TEST_REQUIRE(length.ok());
      auto type = vh5::DecodeDatatype(m->data);
      BOOST_TEST_REQUIRE(type.ok());
      size_t n = 0;
      H5Tencode(type->get(), nullptr, &n);
      std::string encoded(n, '\0');
      H5Tencode(type->get(), encoded.data(), &n);
      BOOST_TEST(encoded.substr(0, 2) == std::string("\x03\x00", 2));
      BOOST_TEST((encoded.substr(2) == std::string(m->data.begin(), m->data.begin() + *length)));
      ++checked;
    }
  }
  BOOST_TEST(checked > 5u);
}

BOOST_AUTO_TEST_CASE(hostile_mapping_lists_are_refused) {
  std::string names = std::string(".\0/r\0", 5);
  std::string good = names + Hyper1({10}, {19}, 1) + Hyper1({0}, {9}, 1);
  auto ok = Decode(Block(1, good));
  BOOST_TEST_REQUIRE(ok.ok(), ok.status().ToString());
  BOOST_TEST(ok->VirtualStart(ok->entries[0])[0] == 0u);
  BOOST_TEST(ok->SourceStart(ok->entries[0])[0] == 10u);
  BOOST_TEST(ok->SourceCount(ok->entries[0])[0] == 10u);

  auto code = [](const std::string& block, std::vector<uint64_t> shape = {100}) {
    return Decode(block, shape).status().code();
  };
  std::string bad_sum = Block(1, good);
  bad_sum[5] ^= 1;
  BOOST_TEST(code(bad_sum) == Code::kCorruption);
  BOOST_TEST(code(Block(2, good)) == Code::kCorruption);                     // an entry missing
  BOOST_TEST(code(Block(uint64_t{1} << 62, good)) == Code::kCorruption);     // count overflows
  BOOST_TEST(code(Block(1, good + "x")) == Code::kCorruption);               // trailing bytes
  BOOST_TEST(code(Block(1, good, 7)) == Code::kUnsupported);                 // unknown encoding
  BOOST_TEST(code(Block(1, std::string(".\0/r", 4))) == Code::kCorruption);  // unterminated name
  BOOST_TEST(code(std::string("\0", 1)) == Code::kCorruption);  // shorter than a checksum
  std::vector<uint64_t> forty(40, 0);
  BOOST_TEST(code(Block(1, names + Hyper1(forty, forty, 40) + Hyper1({0}, {9}, 1))) ==
             Code::kCorruption);  // a selection of rank 40
  BOOST_TEST(code(Block(1, names + Hyper1({0, 0}, {1, 1}, 2) + Hyper1({0}, {9}, 1))) ==
             Code::kCorruption);  // a rank other than the dataset's
  BOOST_TEST(code(Block(1, names + Hyper1({9}, {0}, 1) + Hyper1({0}, {9}, 1))) ==
             Code::kCorruption);  // a block ending before it starts
  BOOST_TEST(code(Block(1, names + Hyper1({0}, {9}, 1, 0xffffffff) + Hyper1({0}, {9}, 1))) ==
             Code::kCorruption);  // a block count beyond the bytes
  BOOST_TEST(
      code(Block(1, names + Hyper2(0, uint64_t{1} << 40, uint64_t{1} << 40, uint64_t{1} << 40) +
                        Hyper2(0, 1, 1, 10))) == Code::kCorruption);  // count x block overflows
  BOOST_TEST(code(Block(1, names + Hyper2(~uint64_t{0} - 5, 1, 1, 10) + Hyper2(0, 1, 1, 10))) ==
             Code::kCorruption);  // a box past 2^64
  BOOST_TEST(code(Block(1, names + Hyper2(0, 3, 4, 2) + Hyper2(0, 1, 1, 8))) ==
             Code::kUnsupported);  // strided: left to HDF5
  BOOST_TEST(code(Block(1, names + Le(9, 4) + Le(1, 4) + Le(0, 8) + Hyper1({0}, {9}, 1))) ==
             Code::kCorruption);  // an unknown selection type
  BOOST_TEST(code(Block(1, std::string(".\0/r%b\0", 7) + Hyper1({0}, {9}, 1) +
                               Hyper1({0}, {9}, 1))) == Code::kUnsupported);  // printf-style name
  BOOST_TEST(code(Block(1, std::string("o.h5\0/r\0", 8) + Hyper1({0}, {9}, 1) +
                               Hyper1({0}, {9}, 1))) == Code::kUnsupported);  // another file
  // Encoding 1 (HDF5 2.0): names shared with earlier entries.
  std::string shared = std::string(1, '\x04') + std::string("/r\0", 3) + Hyper1({0}, {9}, 1) +
                       Hyper1({0}, {9}, 1) + std::string(1, '\x06') + Le(0, 8) +
                       Hyper1({10}, {19}, 1) + Hyper1({10}, {19}, 1);
  auto v1 = Decode(Block(2, shared, 1));
  BOOST_TEST_REQUIRE(v1.ok(), v1.status().ToString());
  BOOST_TEST(v1->sources.size() == 1u);
  BOOST_TEST(v1->entries.size() == 2u);
  std::string forward =
      std::string(1, '\x06') + Le(1, 8) + Hyper1({0}, {9}, 1) + Hyper1({0}, {9}, 1);
  BOOST_TEST(code(Block(1, forward, 1)) == Code::kCorruption);  // a name from a later entry
}

// The commit encodes mapping lists itself (mapping_patch.h): its bytes must
// be those HDF5 writes for the same H5Pset_virtual calls.
BOOST_AUTO_TEST_CASE(encoded_mapping_lists_equal_hdf5s_own) {
  struct Box {
    std::vector<uint64_t> vstart, count, sstart;
  };
  struct Case {
    std::vector<uint64_t> shape, raw;
    std::vector<Box> boxes;
  };
  std::vector<Case> cases = {
      {{100}, {64}, {{{32}, {32}, {0}}, {{0}, {32}, {32}}, {{64}, {36}, {0}}}},
      {{100, 30}, {48, 8}, {{{96, 24}, {4, 6}, {0, 0}}, {{0, 0}, {16, 8}, {16, 0}}}},
      {{5, 6, 7}, {8, 4, 7}, {{{4, 4, 0}, {1, 2, 7}, {7, 0, 0}}}},
      // Boxes ending at and past 2^32: version-1 and version-2 hyperslabs.
      {{uint64_t{1} << 33}, {4096}, {{{(uint64_t{1} << 32) - 4096}, {4096}, {0}}}},
      {{uint64_t{1} << 33}, {4096}, {{{(uint64_t{1} << 32) - 2048}, {4096}, {0}}}},
  };
  TempDir dir;
  fs::path path = dir.path() / "lists.h5";
  {
    h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    for (size_t c = 0; c < cases.size(); ++c) {
      const Case& k = cases[c];
      int rank = static_cast<int>(k.shape.size());
      std::vector<hsize_t> dims(k.shape.begin(), k.shape.end()), raw(k.raw.begin(), k.raw.end());
      std::vector<hsize_t> unlimited(rank, H5S_UNLIMITED), ones(rank, 1);
      h5::Handle vspace(H5Screate_simple(rank, dims.data(), dims.data()));
      h5::Handle sspace(H5Screate_simple(rank, raw.data(), unlimited.data()));
      h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
      for (const Box& b : k.boxes) {
        std::vector<hsize_t> vstart(b.vstart.begin(), b.vstart.end()),
            count(b.count.begin(), b.count.end()), sstart(b.sstart.begin(), b.sstart.end());
        h5::Handle v(H5Scopy(vspace.get())), s(H5Scopy(sspace.get()));
        BOOST_TEST_REQUIRE(H5Sselect_hyperslab(v.get(), H5S_SELECT_SET, vstart.data(), nullptr,
                                               ones.data(), count.data()) >= 0);
        BOOST_TEST_REQUIRE(H5Sselect_hyperslab(s.get(), H5S_SELECT_SET, sstart.data(), nullptr,
                                               ones.data(), count.data()) >= 0);
        std::string source = "/_version_data/d" + std::to_string(c) + "/raw_data";
        BOOST_TEST_REQUIRE(H5Pset_virtual(dcpl.get(), v.get(), ".", source.c_str(), s.get()) >= 0);
      }
      std::string name = "d" + std::to_string(c);
      h5::Handle d(H5Dcreate2(file.get(), name.c_str(), H5T_STD_I32LE, vspace.get(), H5P_DEFAULT,
                              dcpl.get(), H5P_DEFAULT));
      BOOST_TEST_REQUIRE(d.valid());
    }
  }
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  for (size_t c = 0; c < cases.size(); ++c) BOOST_TEST_CONTEXT("case " << c) {
      const Case& k = cases[c];
      vh5::MappingList list;
      list.rank = k.shape.size();
      list.sources = {"/_version_data/d" + std::to_string(c) + "/raw_data"};
      for (const Box& b : k.boxes) {
        list.entries.push_back({0, static_cast<uint32_t>(list.coords.size())});
        for (const auto* part : {&b.vstart, &b.count, &b.sstart, &b.count})
          list.coords.insert(list.coords.end(), part->begin(), part->end());
      }
      std::vector<uint8_t> stored;
      auto header =
          vh5::ReadVirtualDatasetHeader(file.get(), -1, "/d" + std::to_string(c), &stored);
      auto encoded = vh5::EncodeMappingList(list);
      BOOST_TEST_REQUIRE(header.ok(), header.status().ToString());
      BOOST_TEST_REQUIRE(encoded.ok(), encoded.status().ToString());
      BOOST_TEST(*encoded == stored);
      auto decoded = vh5::DecodeMappingList(*encoded, 8, k.shape);
      BOOST_TEST_REQUIRE(decoded.ok(), decoded.status().ToString());
      BOOST_TEST(decoded->coords == list.coords);
      BOOST_TEST(decoded->sources == list.sources);
    }
  vh5::MappingList empty_box;
  empty_box.rank = 1;
  empty_box.sources = {"r"};
  empty_box.entries = {{0, 0}};
  empty_box.coords = {0, 0, 0, 0};
  BOOST_TEST(vh5::EncodeMappingList(empty_box).status().code() == Code::kUnsupported);
}

BOOST_AUTO_TEST_CASE(hostile_datatypes_are_refused) {
  auto code = [](const std::string& m) {
    return vh5::DatatypeLength(
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(m.data()), m.size()))
        .status()
        .code();
  };
  std::string i4 = Le(0x10 | (0x08 << 8), 4) + Le(4, 4) + Le(0, 2) + Le(32, 2);
  BOOST_TEST(code(i4) == Code::kOk);
  BOOST_TEST(code(i4.substr(0, 10)) == Code::kCorruption);
  BOOST_TEST(code(Le(0x10, 4) + Le(4, 4) + Le(8, 2) + Le(32, 2)) == Code::kCorruption);
  BOOST_TEST(code(Le(0x10, 4) + Le(0, 4) + Le(0, 2) + Le(0, 2)) == Code::kCorruption);
  // A compound member outside its element.
  std::string member = std::string("x\0\0\0\0\0\0\0", 8) + Le(6, 4) + i4;
  BOOST_TEST(code(Le(0x26 | (1 << 8), 4) + Le(8, 4) + member) == Code::kCorruption);
  BOOST_TEST(code(Le(0x26 | (1 << 8), 4) + Le(16, 4) + member) == Code::kOk);
  // An array of rank 40, a vlen nested 100 deep.
  BOOST_TEST(code(Le(0x3a, 4) + Le(4, 4) + std::string(1, '\x28') + std::string(400, '\x01')) ==
             Code::kCorruption);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += Le(0x19, 4) + Le(16, 4);
  BOOST_TEST(code(deep + i4) == Code::kUnsupported);
  BOOST_TEST(code(Le(0x1f, 4) + Le(4, 4)) == Code::kUnsupported);  // class 15
}

// A header whose continuation points back at itself ends, with Corruption.
BOOST_AUTO_TEST_CASE(object_header_loops_and_overflows_are_refused) {
  TempDir dir;
  fs::path h5 = dir.path() / "plain.h5";
  WritePlainHdf5(h5, "/g");
  h5::Handle file(H5Fopen(h5.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  auto read = [&](const std::string& bytes, uint64_t address = 0) {
    fs::path raw = dir.path() / "raw.bin";
    WriteFile(raw, bytes);
    vh5::Fd fd(::open(raw.c_str(), O_RDONLY));
    auto fb = vh5::FileBytes::Of(file.get(), fd.get());
    BOOST_TEST_REQUIRE(fb.ok());
    return vh5::ObjectHeader::Read(*fb, address).status().code();
  };
  std::string prefix =
      std::string(1, '\x01') + std::string(1, '\0') + Le(1, 2) + Le(1, 4) + Le(24, 4) + Le(0, 4);
  std::string loop = prefix + Le(0x10, 2) + Le(16, 2) + Le(0, 4) + Le(16, 8) + Le(24, 8);
  BOOST_TEST(read(loop) == Code::kCorruption);
  std::string overflow = prefix + Le(0x01, 2) + Le(0xfff8, 2) + Le(0, 4) + std::string(16, '\0');
  BOOST_TEST(read(overflow) == Code::kCorruption);
  std::string past_end = prefix + Le(0x10, 2) + Le(16, 2) + Le(0, 4) + Le(1 << 30, 8) + Le(64, 8);
  BOOST_TEST(read(past_end) == Code::kCorruption);
  BOOST_TEST(read(prefix.substr(0, 10)) == Code::kCorruption);
  BOOST_TEST(read(std::string(1, '\x07') + std::string(40, '\0')) == Code::kUnsupported);
  // Version 2 with a wrong checksum.
  std::string v2 = std::string("OHDR\x02\x00", 6) + std::string(1, '\x08') + Le(0x00, 1) +
                   Le(4, 2) + Le(0, 1) + std::string(4, '\0') + Le(0, 4);
  BOOST_TEST(read(v2) == Code::kCorruption);
}

// Corrupt copies of a fixture: each gives a clean Status through the whole
// read path, never a crash or a hang.
BOOST_AUTO_TEST_CASE(corrupt_fixture_copies_give_a_clean_status,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  h5::SilenceAutomaticErrorPrinting();
  fs::path original = *SharedFixtures() / "basic.h5";
  TempDir dir;
  fs::path copy = dir.path() / "corrupt.h5";
  const std::string version = "v1", inside = "prices";
  const std::string path = "/_version_data/versions/" + version + "/" + inside;
  h5::Handle file(H5Fopen(original.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  BOOST_TEST_REQUIRE(file.valid());
  uint64_t header = HeaderAddress(file.get(), path);
  std::string content = ReadFile(original);

  // The layout message's bytes: version 4, class 3, heap address, index.
  vh5::Fd fd0(::open(original.c_str(), O_RDONLY));
  auto fb = vh5::FileBytes::Of(file.get(), fd0.get());
  auto oh = vh5::ObjectHeader::Read(*fb, header);
  BOOST_TEST_REQUIRE(oh.ok());
  const vh5::HeaderMessage* layout = oh->Find(vh5::kLayoutMessage);
  BOOST_TEST_REQUIRE(layout != nullptr);
  std::string layout_bytes(layout->data.begin(), layout->data.begin() + 14);
  size_t layout_at = content.find(layout_bytes);
  BOOST_TEST_REQUIRE(layout_at != std::string::npos);
  uint64_t heap = vh5::LoadLe(layout->data.data() + 2, 8);

  auto fast = [&](const fs::path& f) {
    vh5::Fd fd(::open(f.c_str(), O_RDONLY));
    return vh5::ReadVirtualDatasetHeader(file.get(), fd.get(), path).status().code();
  };
  auto through_engine = [&](const fs::path& f) {
    auto vf = vh5::VersionedFile::OpenReadOnly(f.string());
    if (!vf.ok()) return vf.status().code();
    auto v = (*vf)->GetVersion(version);
    if (!v.ok()) return v.status().code();
    return (*v)->OpenDataset(inside).status().code();
  };

  auto block = vh5::ReadGlobalHeapObject(
      *fb, heap, static_cast<uint32_t>(vh5::LoadLe(layout->data.data() + 10, 4)));
  BOOST_TEST_REQUIRE(block.ok());
  size_t block_at = content.find(std::string(block->begin(), block->end()));
  BOOST_TEST_REQUIRE(block_at != std::string::npos);

  // Corruptions HDF5 itself meets when it reads the header or the heap's
  // other objects (attributes) give its error through the engine; those only
  // the fast reader reads give Corruption.
  struct Case {
    const char* what;
    uint64_t offset;
    std::string bytes;
    bool hdf5_reads_it;
  };
  std::vector<Case> cases = {
      {"message length out of range", header + 16 + 2, Le(0xfff8, 2), true},
      {"message length unaligned", header + 16 + 2, Le(0x0011, 2), true},
      {"chunk size past the end", header + 8, Le(0x3000000, 4), true},
      {"heap index missing", layout_at + 10, Le(0x7777, 4), false},
      {"heap address past the end", layout_at + 2, Le(uint64_t{1} << 50, 8), false},
      {"heap signature", heap, "GCOX", true},
      {"heap collection size", heap + 8, Le(uint64_t{1} << 40, 8), true},
      {"mapping count", block_at + 1, Le(uint64_t{1} << 60, 8), false},
      {"mapping list checksum", block_at + 12, "\x7f", false},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      PatchedCopy(original, copy, c.offset, c.bytes);
      BOOST_TEST(fast(copy) == Code::kCorruption);
      Code engine = through_engine(copy);
      if (c.hdf5_reads_it) {
        BOOST_TEST(engine != Code::kOk);
      } else {
        BOOST_TEST(engine == Code::kCorruption);
      }
    }
  }
  // Truncated: the header or the heap lies past the end of the file.
  for (uint64_t size : {header + 20, heap + 40, heap + 4096}) {
    fs::copy_file(original, copy, fs::copy_options::overwrite_existing);
    fs::resize_file(copy, size);
    BOOST_TEST(fast(copy) == Code::kCorruption, "truncated to " << size);
    through_engine(copy);  // HDF5 itself may refuse the file: any status will do
  }
}

// Random byte changes in a dataset's header and mapping list: the reader
// returns OK or a clean Status every time (run under ASan/UBSan too).
BOOST_AUTO_TEST_CASE(random_mutations_never_crash,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  h5::SilenceAutomaticErrorPrinting();
  fs::path original = *SharedFixtures() / "multidim.h5";
  TempDir dir;
  fs::path copy = dir.path() / "mutated.h5";
  fs::copy_file(original, copy);
  h5::Handle file(H5Fopen(original.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  std::vector<std::string> datasets = DatasetsUnder(file.get(), "/_version_data/versions");
  BOOST_TEST_REQUIRE(!datasets.empty());
  std::string content = ReadFile(original);
  vh5::Fd fd(::open(copy.c_str(), O_RDWR));
  auto fb = vh5::FileBytes::Of(file.get(), fd.get());
  std::mt19937_64 rng(20240601);
  size_t outcomes[16] = {};
  for (int round = 0; round < 3000; ++round) {
    const std::string& path = datasets[rng() % datasets.size()];
    uint64_t header = HeaderAddress(file.get(), path);
    auto oh = vh5::ObjectHeader::Read(*fb, header);
    if (!oh.ok()) continue;
    // Mutate the header or the mapping list's heap object.
    uint64_t base = header, span = 256;
    const vh5::HeaderMessage* layout = oh->Find(vh5::kLayoutMessage);
    if (layout && layout->data.size() >= 14 && rng() % 2) {
      base = vh5::LoadLe(layout->data.data() + 2, 8);
      span = 4096;
    }
    std::vector<std::pair<uint64_t, char>> changed;
    for (int k = 1 + rng() % 4; k > 0; --k) {
      uint64_t at = std::min<uint64_t>(base + rng() % span, content.size() - 1);
      char b = static_cast<char>(rng());
      changed.push_back({at, content[at]});
      ::pwrite(fd.get(), &b, 1, static_cast<off_t>(at));
    }
    auto got = vh5::ReadVirtualDatasetHeader(file.get(), fd.get(), path);
    Code c = got.status().code();
    BOOST_TEST((c == Code::kOk || c == Code::kCorruption || c == Code::kUnsupported),
               got.status().ToString());
    ++outcomes[static_cast<int>(c) % 16];
    for (auto& [at, b] : changed) ::pwrite(fd.get(), &b, 1, static_cast<off_t>(at));
  }
  BOOST_TEST_MESSAGE("mutations: " << outcomes[0] << " ok, " << outcomes[4] << " corruption, "
                                   << outcomes[8] << " unsupported");
  BOOST_TEST(outcomes[static_cast<int>(Code::kCorruption)] > 100u);
}

BOOST_AUTO_TEST_SUITE_END()
