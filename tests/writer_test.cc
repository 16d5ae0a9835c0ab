// The writer against h5py as an independent reader: what vh5fs writes is the
// Python library's format, chunk for chunk and hash for hash.
#include <fcntl.h>
#include <lzf.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <map>
#include <sstream>

#include "commit/atomic_commit.h"
#include "commit/version_plan.h"
#include "format/virtual_dataset_header.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/h5_handle.h"
#include "hdf5/lzf_sized.h"
#include "read/memory_cache.h"
#include "test_util.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

using namespace vh5test;
using boost::property_tree::ptree;

namespace {

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

// A 100 x 30 <i4 dataset in 16 x 8 chunks: edge cells on both axes.
vh5::NewDataset Grid(const std::string& path) {
  vh5::NewDataset grid;
  grid.path = path;
  grid.dtype = "<i4";
  grid.shape = {100, 30};
  grid.chunks = {16, 8};
  for (int32_t i = 0; i < 100 * 30; ++i) grid.data.append(reinterpret_cast<const char*>(&i), 4);
  return grid;
}

// Every attribute as h5py sees it: "name|HDF5 type class/size/shape|repr(value)".
const char kAttributeProbe[] = R"PY(
import sys, h5py
from h5py import h5t
def kind(t):
    c = t.get_class()
    if c == h5t.STRING:
        return "str(var=%d,cset=%d,pad=%d,size=%d)" % (t.is_variable_str(), t.get_cset(), t.get_strpad(), t.get_size())
    if c == h5t.ENUM:
        return "enum(%s)" % ",".join("%s=%d" % (t.get_member_name(i).decode(), t.get_member_value(i)) for i in range(t.get_nmembers()))
    if c == h5t.COMPOUND:
        return "compound(%s)" % ",".join("%s@%d:%s" % (t.get_member_name(i).decode(), t.get_member_offset(i), kind(t.get_member_type(i))) for i in range(t.get_nmembers()))
    if c == h5t.ARRAY:
        return "array%s:%s" % (t.get_array_dims(), kind(t.get_super()))
    return "%s%d%s" % ({h5t.INTEGER: "i" if c == h5t.INTEGER and t.get_sign() else "u", h5t.FLOAT: "f"}.get(c, "?"), t.get_size(), "be" if t.get_order() == h5t.ORDER_BE else "")
g = h5py.File(sys.argv[1], "r")["_version_data/versions/" + sys.argv[2]]
for n in sorted(g.attrs):
    a = h5py.h5a.open(g.id, n.encode())
    v = g.attrs[n]
    v = v.tolist() if hasattr(v, "tolist") else v
    print("%s|%s|%s|%r" % (n, kind(a.get_type()), a.get_space().get_simple_extent_dims(), v))
)PY";

// The creation properties of one version's dataset and of its raw_data and
// hash_table, as h5py reads them.
const char kLayoutProbe[] = R"PY(
import sys, h5py
from h5py import h5d
f = h5py.File(sys.argv[1], "r")
ds = f["_version_data/versions/%s/%s" % (sys.argv[2], sys.argv[3])]
raw = f[ds.attrs["raw_data"]]
table = f[ds.attrs["raw_data"].rsplit("/", 1)[0] + "/hash_table"]
def filters(d):
    p = d.id.get_create_plist()
    return [p.get_filter(i)[0] for i in range(p.get_nfilters())]
p = raw.id.get_create_plist()
t = table.id.get_create_plist()
v = ds.id.get_create_plist()
print("raw", raw.chunks, raw.maxshape, filters(raw), p.get_fill_time() == h5d.FILL_TIME_ALLOC, list(raw.attrs["chunks"]))
print("table", table.dtype.descr, table.chunks, table.maxshape, filters(table), t.get_fill_time() == h5d.FILL_TIME_ALLOC, table.attrs["largest_index"].dtype.str)
print("vds", ds.is_virtual, sorted({m.file_name for m in ds.virtual_sources()}), list(ds.attrs["chunks"]), repr(ds.fillvalue.tolist()))
)PY";

std::vector<std::string> ProbeLines(const std::string& script,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", script};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = Run(argv);
  BOOST_REQUIRE_MESSAGE(r.exit_status == 0, "h5py probe failed: " << r.err);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What one dataset of a commit keeps of its base, as staging plans it
// (commit/version_plan.h).
struct Kept {
  vh5::DatasetPlan::Keep keep = vh5::DatasetPlan::Keep::kNothing;
  std::vector<std::pair<uint64_t, uint64_t>> dirty;
};
const Kept kKeepAll{vh5::DatasetPlan::Keep::kAll, {}};
Kept KeepClean(std::vector<std::pair<uint64_t, uint64_t>> dirty) {
  return Kept{vh5::DatasetPlan::Keep::kCleanCells, std::move(dirty)};
}

// h5py reads every one of `datasets` in `version` of `file` as written, and
// vh5 verify finds the file sound.
void ExpectReadsAsWritten(const fs::path& file, const std::string& version,
                          const std::vector<vh5::NewDataset>& datasets) {
  ptree oracle = H5pyOracle(file);
  for (const vh5::NewDataset& d : datasets)
    BOOST_TEST(At(At(At(At(oracle, "versions"), version), "datasets"), d.path)
                       .get<std::string>("sha256") == Sha256Hex(d.data),
               version << "/" << d.path);
  VerifyClean(file);
}

// Commits `v` keeping of its base what `kept` says, by dataset path.
vh5::Status CommitKeeping(const fs::path& file, const vh5::NewVersion& v,
                          const std::map<std::string, Kept>& kept) {
  vh5::VersionPlan plan = vh5::PlanAsGiven(v);
  for (vh5::DatasetPlan& d : plan.datasets) {
    auto it = kept.find(d.dataset->path);
    if (it == kept.end()) continue;
    d.keep = it->second.keep;
    d.dirty = it->second.dirty;
  }
  return vh5::CommitVersion(file.string(), plan);
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
  ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<std::string>("current_version") == "__first_version__");
  BOOST_TEST(oracle.get<int>("data_version") == 4);
}

BOOST_AUTO_TEST_CASE(version_metadata_is_read_lazily_and_unfinished_versions_are_not_versions) {
  TempDir dir;
  fs::path file = dir.path() / "lazy.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  for (const char* name : {"a", "b"}) {
    vh5::NewVersion v;
    v.name = name;
    v.groups = {{"g", {}}};
    BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  }
  // What a Python commit killed half way leaves: a group with committed False.
  BOOST_TEST_REQUIRE(Run({"/usr/bin/python3", "-c",
                          "import h5py, sys\n"
                          "f = h5py.File(sys.argv[1], 'r+')\n"
                          "g = f['_version_data/versions'].create_group('half')\n"
                          "g.attrs['committed'] = False\n"
                          "g.attrs['prev_version'] = 'b'\n",
                          file.string()})
                         .exit_status == 0);
  auto f = vh5::VersionedFile::Open(file.string(), vh5::VersionedFile::Access::kReadWrite);
  BOOST_TEST_REQUIRE(f.ok(), f.status().ToString());
  // Names come without reading any version; "half" is known not to be one
  // only once its metadata is read.
  BOOST_TEST(((*f)->ListVersionNames() == std::vector<std::string>{"a", "b", "half"}));
  BOOST_TEST((*f)->GetVersionInfo("half").status().IsNotFound());
  BOOST_TEST(((*f)->ListVersionNames() == std::vector<std::string>{"a", "b"}));
  BOOST_TEST((*f)->ListVersions().size() == 2u);
  BOOST_TEST((*f)->GetVersionInfo("b")->prev_version == "a");
  BOOST_TEST((*f)->GetVersion("half").status().IsNotFound());
  // A commit through the open file adds exactly its version.
  vh5::NewVersion c;
  c.name = "c";
  BOOST_TEST_REQUIRE((*f)->Commit(c).ok());
  BOOST_TEST(((*f)->ListVersionNames() == std::vector<std::string>{"a", "b", "c"}));
  BOOST_TEST((*f)->GetVersionInfo("c")->prev_version == "b");
  BOOST_TEST((*f)->CurrentVersion().value_or("") == "c");
  // A refused commit adds nothing.
  BOOST_TEST((*f)->Commit(c).code() == vh5::Status::Code::kExists);
  BOOST_TEST((*f)->ListVersionNames().size() == 3u);
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

  ptree oracle = H5pyOracle(file);
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
  ptree oracle = H5pyOracle(file);
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

BOOST_AUTO_TEST_CASE(attributes_of_every_kind_reach_h5py_with_their_types) {
  TempDir dir;
  fs::path file = dir.path() / "attrs.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  const vh5::Attributes attrs = {
      {"str", "plain ü text", ""},
      {"i1", "-128", "|i1"},
      {"u8", "18446744073709551615", "<u8"},
      {"f4", "0.5", "<f4"},
      {"f8", "-2.25", "<f8"},
      {"flag", "True", "|b1"},
      {"cplx", "(1+2j)", "<c16"},
      {"fixed", "abc", "|S5"},
      {"ints", "[1, 2, 3]", "(3,)<i4"},
      {"grid", "[[1, 2, 3], [4, 5, 6]]", "(2, 3)<i2"},
      {"flags", "[True, False]", "(2,)|b1"},
      {"names", "['a', 'b\\'c']", "(2,)vlen-str"},
      {"point", "(7, -1.5)", "[('x', '<i4'), ('y', '<f8')]"},
      {"points", "[(1, 2.5), (3, 4.5)]", "(2,)[('x', '<i4'), ('y', '<f8')]"},
      {"nested", "(b'ab', [1.5, 2.5], (9, True))",
       "[('s', '|S4'), ('v', '<f4', (2,)), ('in', [('p', '<u2'), ('q', '|b1')])]"},
  };
  vh5::NewVersion v;
  v.name = "v";
  v.groups = {{"", attrs}};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());

  std::vector<std::string> got = ProbeLines(kAttributeProbe, {file.string(), "v"});
  const std::vector<std::string> expected = {
      "committed|enum(FALSE=0,TRUE=1)|()|True",
      "cplx|compound(r@0:f8,i@8:f8)|()|(1+2j)",
      "f4|f4|()|0.5",
      "f8|f8|()|-2.25",
      "fixed|str(var=0,cset=0,pad=1,size=5)|()|b'abc'",
      "flag|enum(FALSE=0,TRUE=1)|()|True",
      "flags|enum(FALSE=0,TRUE=1)|(2,)|[True, False]",
      "grid|i2|(2, 3)|[[1, 2, 3], [4, 5, 6]]",
      "i1|i1|()|-128",
      "ints|i4|(3,)|[1, 2, 3]",
      "names|str(var=1,cset=1,pad=0,size=8)|(2,)|['a', \"b'c\"]",
      "nested|compound(s@0:str(var=0,cset=0,pad=1,size=4),v@4:array(2,):f4,"
      "in@12:compound(p@0:u2,q@2:enum(FALSE=0,TRUE=1)))|()|(b'ab', array([1.5, 2.5], "
      "dtype=float32), (9, True))",
      "point|compound(x@0:i4,y@4:f8)|()|(7, -1.5)",
      "points|compound(x@0:i4,y@4:f8)|(2,)|[(1, 2.5), (3, 4.5)]",
      "prev_version|str(var=1,cset=1,pad=0,size=8)|()|'__first_version__'",
      "str|str(var=1,cset=1,pad=0,size=8)|()|'plain ü text'",
      "u8|u8|()|18446744073709551615",
  };
  // The timestamp is "now": only its type is checked.
  auto timestamp = std::find_if(got.begin(), got.end(),
                                [](const std::string& l) { return l.rfind("timestamp|", 0) == 0; });
  BOOST_TEST_REQUIRE((timestamp != got.end()));
  BOOST_TEST(timestamp->rfind("timestamp|str(var=1,cset=1,pad=0,size=8)|()|'", 0) == 0u);
  got.erase(timestamp);
  BOOST_TEST(got == expected, boost::test_tools::per_element());

  // The engine reads each one back as the text and type it was written with.
  auto f = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_TEST_REQUIRE(f.ok());
  auto version = (*f)->GetVersion("v");
  BOOST_TEST_REQUIRE(version.ok());
  auto read = (*version)->GetAttributes("");
  BOOST_TEST_REQUIRE(read.ok());
  std::map<std::string, vh5::Attribute> by_name;
  for (const vh5::Attribute& a : *read) by_name[a.name] = a;
  for (const vh5::Attribute& a : attrs) {
    BOOST_TEST_CONTEXT(a.name) {
      BOOST_TEST_REQUIRE(by_name.count(a.name) == 1u);
      BOOST_TEST(by_name[a.name].type == a.type);
      if (a.type.rfind("|S", 0) != 0) BOOST_TEST(by_name[a.name].text == a.text);
    }
  }
}

BOOST_AUTO_TEST_CASE(values_that_do_not_fit_their_type_are_refused) {
  TempDir dir;
  fs::path file = dir.path() / "bad.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  using Code = vh5::Status::Code;
  for (const vh5::Attribute& bad :
       std::vector<vh5::Attribute>{{"a", "300", "|u1"},
                                   {"a", "-1", "<u4"},
                                   {"a", "1.5", "<i8"},
                                   {"a", "maybe", "|b1"},
                                   {"a", "[1, 2]", "(3,)<i4"},
                                   {"a", "(1,)", "[('x', '<i4'), ('y', '<f8')]"},
                                   {"a", "toolong", "|S3"}}) {
    BOOST_TEST_CONTEXT(bad.text << " as " << bad.type) {
      vh5::NewVersion v;
      v.name = "v";
      v.groups = {{"", {bad}}};
      BOOST_TEST(vh5::CommitVersion(file.string(), v).code() == Code::kInvalidArgument);
    }
  }
}

BOOST_AUTO_TEST_CASE(datasets_are_laid_out_as_h5py_creates_them) {
  TempDir dir;
  fs::path file = dir.path() / "layout.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  const std::string point = "[('x', '<i4'), ('y', '<f8')]";
  // The fill value in the text the engine shows (a tuple) parses back to its bytes.
  auto fill = vh5::ParseElement(point, "(3, -1.5)");
  BOOST_TEST_REQUIRE(fill.ok(), fill.status().ToString());
  BOOST_TEST_REQUIRE(fill->size() == 12u);

  vh5::NewVersion v;
  v.name = "v";
  vh5::NewDataset packed = Ramp("packed", 100, 16);
  packed.compression = "gzip:4,shuffle,fletcher32";
  vh5::NewDataset fast = Ramp("fast", 100, 16);
  fast.compression = "lzf";
  vh5::NewDataset points;
  points.path = "points";
  points.dtype = point;
  points.shape = {8, 2};
  points.chunks = {4, 2};
  points.fill_bytes = *fill;
  for (int i = 0; i < 16; ++i) points.data += i < 8 ? *fill : std::string(12, static_cast<char>(i));
  v.datasets = {packed, fast, points};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());

  // h5py's filter pipeline order: shuffle (2), deflate (1), fletcher32 (3);
  // every chunked dataset allocates its chunks filled.
  std::vector<std::string> got = ProbeLines(kLayoutProbe, {file.string(), "v", "packed"});
  BOOST_TEST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0] == "raw (16,) (None,) [2, 1, 3] True [16]");
  BOOST_TEST(got[1] ==
             "table [('hash', '|u1', (32,)), ('shape', '<i8', (2,))] (4096,) (None,) [32000] True "
             "<i8");
  BOOST_TEST(got[2] == "vds True ['.'] [16] 0.0");
  got = ProbeLines(kLayoutProbe, {file.string(), "v", "fast"});
  BOOST_TEST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0] == "raw (16,) (None,) [32000] True [16]");
  got = ProbeLines(kLayoutProbe, {file.string(), "v", "points"});
  BOOST_TEST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0] == "raw (4, 2) (None, 2) [] True [4, 2]");
  BOOST_TEST(got[2] == "vds True ['.'] [4, 2] (3, -1.5)");
  // The first four rows are all fill: one chunk of the two is stored.
  ptree oracle = H5pyOracle(file);
  const ptree& d = At(At(At(At(oracle, "versions"), "v"), "datasets"), "points");
  BOOST_TEST(d.get<int>("mappings") == 1);
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  BOOST_TEST(d.get<std::string>("sha256") == Sha256Hex(points.data));
  BOOST_TEST(EngineContent(file, "v", "points") == points.data);
}

BOOST_AUTO_TEST_CASE(compressed_chunks_decode_outside_hdf5_exactly_as_h5py_reads_them) {
  TempDir dir;
  fs::path file = dir.path() / "filters.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  struct Kind {
    std::string dtype;
    size_t itemsize;
  };
  const std::vector<Kind> kinds = {
      {"|u1", 1}, {"<i2", 2}, {"<f8", 8}, {"[('a', '<i4'), ('b', '<f8')]", 12}};
  const std::vector<std::string> pipelines = {
      "gzip:1",     "gzip:9,shuffle",           "lzf", "lzf,shuffle", "shuffle",
      "fletcher32", "gzip:4,shuffle,fletcher32"};
  vh5::NewVersion v;
  v.name = "v";
  uint64_t seed = 1;
  for (size_t k = 0; k < kinds.size(); ++k) {
    for (size_t p = 0; p < pipelines.size(); ++p) {
      vh5::NewDataset d;
      d.path = "k" + std::to_string(k) + "/p" + std::to_string(p);
      d.dtype = kinds[k].dtype;
      // 2-D with edge chunks on both axes; values compressible but not trivial.
      d.shape = {301, 7};
      d.chunks = {64, 4};
      d.compression = pipelines[p];
      d.data.resize(301 * 7 * kinds[k].itemsize);
      for (char& c : d.data) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        c = static_cast<char>((seed >> 60) < 6 ? (seed >> 33) & 0xff : 0);
      }
      v.datasets.push_back(d);
    }
  }
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  vh5::MemoryCache& cache = vh5::MemoryCache::Process();
  uint64_t cached_before = cache.bytes();
  // Held open through the reads: a closed file's chunks are dropped with it.
  auto held = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_TEST_REQUIRE(held.ok());
  auto held_version = (*held)->GetVersion("v");
  BOOST_TEST_REQUIRE(held_version.ok());
  for (const vh5::NewDataset& d : v.datasets) {
    auto dataset = (*held_version)->OpenDataset(d.path);
    BOOST_TEST_REQUIRE(dataset.ok());
    std::string got((*dataset)->size(), '\0');
    BOOST_TEST_REQUIRE((*dataset)->Read(0, got.size(), got.data()).ok());
  }
  ptree oracle = H5pyOracle(file);
  const ptree& datasets = At(At(oracle.get_child("versions"), "v"), "datasets");
  for (const vh5::NewDataset& d : v.datasets) {
    BOOST_TEST_CONTEXT(d.path << " " << d.dtype << " " << d.compression) {
      std::string engine = EngineContent(file, "v", d.path);
      BOOST_TEST((engine == d.data));
      BOOST_TEST(At(datasets, d.path).get<std::string>("sha256") == Sha256Hex(engine));
    }
  }
  // Decoded chunks were kept (bounded by the budget) while the file is open,
  // and dropped with it.
  BOOST_TEST(cache.bytes() > cached_before);
  BOOST_TEST(cache.bytes() <= cache.capacity());
  held_version->reset();
  held->reset();
  BOOST_TEST(cache.bytes() == cached_before);
}

BOOST_AUTO_TEST_CASE(a_damaged_compressed_chunk_is_an_error_not_data) {
  TempDir dir;
  fs::path file = dir.path() / "damaged.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  vh5::NewVersion v;
  v.name = "v";
  for (std::string compression : {"gzip:4", "lzf"}) {
    vh5::NewDataset d;
    d.path = compression.substr(0, 3);
    d.dtype = "<i8";
    d.shape = {5000};
    d.chunks = {1000};
    d.compression = compression;
    for (int64_t i = 0; i < 5000; ++i) d.data.append(reinterpret_cast<const char*>(&i), sizeof i);
    v.datasets.push_back(d);
  }
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  // Overwrite the middle of the third stored chunk of each raw_data.
  for (std::string path : {"gzi", "lzf"}) {
    vh5::h5::Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    vh5::h5::Handle raw(
        H5Dopen2(f.get(), ("/_version_data/" + path + "/raw_data").c_str(), H5P_DEFAULT));
    hsize_t origin[1] = {2000};
    haddr_t addr = 0;
    hsize_t size = 0;
    BOOST_TEST_REQUIRE(H5Dget_chunk_info_by_coord(raw.get(), origin, nullptr, &addr, &size) >= 0);
    raw.Reset();
    f.Reset();
    int fd = ::open(file.c_str(), O_WRONLY);
    std::string junk(size / 2, '\xa5');
    BOOST_TEST_REQUIRE(::pwrite(fd, junk.data(), junk.size(), addr + size / 4) ==
                       static_cast<ssize_t>(junk.size()));
    ::close(fd);
  }
  auto opened = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_TEST_REQUIRE(opened.ok());
  auto version = (*opened)->GetVersion("v");
  BOOST_TEST_REQUIRE(version.ok());
  for (std::string path : {"gzi", "lzf"}) {
    auto d = (*version)->OpenDataset(path);
    BOOST_TEST_REQUIRE(d.ok());
    std::vector<char> buf(8000);
    BOOST_TEST((*d)->Read(0, buf.size(), buf.data()).ok());  // chunk 0 is intact
    vh5::Result<size_t> bad = (*d)->Read(2000 * 8, buf.size(), buf.data());
    BOOST_TEST(!bad.ok(), path);
    BOOST_TEST(bad.status().code() == vh5::Status::Code::kCorruption, bad.status().ToString());
  }
}

// A changed dataset gets its mapping list encoded by the commit, an
// unchanged one its base's list, stored after HDF5 closes the file
// (mapping_patch.h); a refused list is committed again the ordinary way.
BOOST_AUTO_TEST_CASE(changed_and_unchanged_datasets_get_their_lists_after_the_close) {
  TempDir dir;
  fs::path file = dir.path() / "data.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  vh5::NewDataset grid = Grid("g/grid");
  vh5::NewVersion v;
  v.name = "v1";
  v.datasets = {Ramp("ramp", 1000, 64), grid, Ramp("still", 300, 32)};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  std::map<std::string, std::map<std::string, std::string>> expected;
  auto note = [&](const std::string& name) {
    for (const vh5::NewDataset& d : v.datasets) expected[name][d.path] = d.data;
  };
  note("v1");

  // One element of each changed: all three lists are the base's, new rows in two.
  v.name = "v2";
  double minus = -1;
  std::memcpy(v.datasets[0].data.data() + 8 * 999, &minus, 8);
  int32_t big = 1 << 30;
  std::memcpy(v.datasets[1].data.data() + 4 * (99 * 30 + 29), &big, 4);
  v.datasets[2].data.clear();  // ignored when unchanged
  BOOST_TEST_REQUIRE(
      CommitKeeping(file, v,
                    {{"ramp", KeepClean({{8 * 999, 8 * 1000}})},
                     {"g/grid", KeepClean({{4 * (99 * 30 + 29), 4 * (99 * 30 + 30)}})},
                     {"still", kKeepAll}})
          .ok());
  note("v2");
  BOOST_TEST(vh5::LastRemapCountsForTesting().patched == 3);
  BOOST_TEST(vh5::LastRemapCountsForTesting().retried == 0);

  // Refused: the same commit is made again by HDF5 alone.
  vh5::RefuseMappingPatchesForTesting(true);
  v.name = "v3";
  std::memcpy(v.datasets[0].data.data(), &minus, 8);
  vh5::Status refused = CommitKeeping(
      file, v, {{"ramp", KeepClean({{0, 8}})}, {"g/grid", KeepClean({})}, {"still", kKeepAll}});
  vh5::RefuseMappingPatchesForTesting(false);
  BOOST_TEST_REQUIRE(refused.ok(), refused.ToString());
  note("v3");
  BOOST_TEST(vh5::LastRemapCountsForTesting().patched == 0);
  BOOST_TEST(vh5::LastRemapCountsForTesting().retried == 1);

  // A grown dataset maps other cells: its list is encoded anew, and patched too.
  v.name = "v4";
  v.datasets[0].data += Doubles({7.0}, 100);
  v.datasets[0].shape = {1100};
  // An unchanged dataset needs only its path: without a description it is copied whole.
  v.datasets[2].dtype.clear();
  v.datasets[2].shape.clear();
  v.datasets[2].chunks.clear();
  vh5::Status grown = CommitKeeping(
      file, v,
      {{"ramp", KeepClean({{8000, 8800}})}, {"g/grid", KeepClean({})}, {"still", kKeepAll}});
  BOOST_TEST_REQUIRE(grown.ok(), grown.ToString());
  note("v4");
  BOOST_TEST(vh5::LastRemapCountsForTesting().patched == 2);

  for (const auto& [name, datasets] : expected)
    for (const auto& [path, data] : datasets) BOOST_TEST_CONTEXT(name << ":" << path) {
        if (path == "still" && name != "v1") continue;  // content lives in v1's data
        BOOST_TEST(Sha256Hex(EngineContent(file, name, path)) == Sha256Hex(data));
      }
  ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  for (const auto& [name, datasets] : expected)
    for (const auto& [path, data] : datasets) BOOST_TEST_CONTEXT("h5py " << name << ":" << path) {
        const std::string& want = path == "still" ? expected["v1"]["still"] : data;
        BOOST_TEST(
            At(At(At(At(oracle, "versions"), name), "datasets"), path).get<std::string>("sha256") ==
            Sha256Hex(want));
      }
  VerifyClean(file);
}

// Dirty cells are compared with their base chunks (read with pread, or
// decoded outside HDF5 when filtered) before hashing: equal cells keep their
// chunk, changed ones are stored, whatever the filters and edge cells.
BOOST_AUTO_TEST_CASE(dirty_cells_equal_to_their_base_keep_their_chunks) {
  TempDir dir;
  fs::path file = dir.path() / "data.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  vh5::NewDataset grid = Grid("grid");
  vh5::NewDataset packed = Ramp("packed", 3000, 256);  // 12 cells, the last one short
  packed.compression = "gzip:4,shuffle";
  vh5::NewVersion v;
  v.name = "v1";
  v.datasets = {grid, packed};
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  int rows_before = H5pyOracle(file).get<int>("hash_rows");

  // Everything dirty; one element changed in the last (edge) cell of each.
  v.name = "v2";
  int32_t big = 1 << 30;
  std::memcpy(v.datasets[0].data.data() + 4 * (99 * 30 + 29), &big, 4);
  double minus = -1;
  std::memcpy(v.datasets[1].data.data() + 8 * 2999, &minus, 8);
  std::map<std::string, Kept> kept;
  for (const vh5::NewDataset& d : v.datasets) kept[d.path] = KeepClean({{0, d.data.size()}});
  vh5::Status s = CommitKeeping(file, v, kept);
  BOOST_TEST_REQUIRE(s.ok(), s.ToString());
  ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<int>("hash_rows") == rows_before + 2);
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  for (const vh5::NewDataset& d : v.datasets) BOOST_TEST_CONTEXT(d.path) {
      BOOST_TEST(Sha256Hex(EngineContent(file, "v2", d.path)) == Sha256Hex(d.data));
      BOOST_TEST(
          At(At(At(At(oracle, "versions"), "v2"), "datasets"), d.path).get<std::string>("sha256") ==
          Sha256Hex(d.data));
    }
  VerifyClean(file);
}

// The lists the commit encodes are HDF5's own, byte for byte: the same
// versions committed with and without patches store equal lists, for new,
// grown, 2-D, string and compressed datasets.
BOOST_AUTO_TEST_CASE(encoded_lists_equal_the_lists_hdf5_builds) {
  TempDir dir;
  vh5::NewDataset grid = Grid("g/grid");
  vh5::NewDataset words;
  words.path = "words";
  words.dtype = "vlen-str";
  words.shape = {9};
  words.chunks = {4};
  words.strings = {"a", "", "bb", "c", "dd", "e", "ff", "g", "hh"};
  vh5::NewDataset packed = Ramp("packed", 3000, 256);
  packed.compression = "gzip:4,shuffle";
  vh5::NewVersion v1;
  v1.name = "v1";
  v1.datasets = {Ramp("ramp", 1000, 64), grid, words, packed};
  vh5::NewVersion v2 = v1;
  v2.name = "v2";
  v2.datasets[0].data += Doubles({9.0}, 300);  // grown by 300 elements
  v2.datasets[0].shape = {1300};
  v2.datasets[1].data[0] = 7;  // one chunk of the grid changed
  v2.datasets[2].strings[8] = "new";

  const std::vector<std::pair<std::string, std::string>> lists = {
      {"v1", "ramp"}, {"v1", "g/grid"}, {"v1", "words"}, {"v1", "packed"},
      {"v2", "ramp"}, {"v2", "g/grid"}, {"v2", "words"}, {"v2", "packed"}};
  std::map<bool, std::vector<std::vector<uint8_t>>> stored;
  for (bool refuse : {false, true}) {
    fs::path file = dir.path() / (refuse ? "hdf5.h5" : "encoded.h5");
    BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
    vh5::RefuseMappingPatchesForTesting(refuse);
    vh5::Status s1 = vh5::CommitVersion(file.string(), v1);
    int patched = vh5::LastRemapCountsForTesting().patched;
    vh5::Status s2 = CommitKeeping(file, v2, {{"ramp", KeepClean({{8000, 10400}})}});
    vh5::RefuseMappingPatchesForTesting(false);
    BOOST_TEST_REQUIRE(s1.ok(), s1.ToString());
    BOOST_TEST_REQUIRE(s2.ok(), s2.ToString());
    BOOST_TEST(patched == (refuse ? 0 : 4));
    BOOST_TEST(vh5::LastRemapCountsForTesting().patched == (refuse ? 0 : 4));
    vh5::h5::Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    for (const auto& [version, path] : lists) {
      std::vector<uint8_t> block;
      auto header = vh5::ReadVirtualDatasetHeader(
          f.get(), -1, "/_version_data/versions/" + version + "/" + path, &block);
      BOOST_TEST_REQUIRE(header.ok(), header.status().ToString());
      BOOST_TEST(!block.empty());
      stored[refuse].push_back(std::move(block));
    }
    ptree oracle = H5pyOracle(file);
    BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
    for (const vh5::NewVersion* v : {&v1, &v2})
      for (const vh5::NewDataset& d : v->datasets) BOOST_TEST_CONTEXT(v->name << ":" << d.path) {
          std::string content = EngineContent(file, v->name, d.path);
          if (d.strings.empty()) BOOST_TEST(Sha256Hex(content) == Sha256Hex(d.data));
          BOOST_TEST(At(At(At(At(oracle, "versions"), v->name), "datasets"), d.path)
                         .get<std::string>("sha256") == Sha256Hex(content));
        }
    VerifyClean(file);
  }
  for (size_t i = 0; i < lists.size(); ++i)
    BOOST_TEST_CONTEXT(lists[i].first << ":" << lists[i].second) {
      BOOST_TEST((stored[false][i] == stored[true][i]));
    }
}

// Patched lists share global heap collections as HDF5's own do: a version
// of many small unchanged datasets grows the file about as much as HDF5
// alone would make it grow (each list once took a 4 KiB collection: 6x).
BOOST_AUTO_TEST_CASE(small_patched_lists_share_heap_collections) {
  TempDir dir;
  vh5::NewVersion v;
  v.name = "v1";
  for (int i = 0; i < 60; ++i) v.datasets.push_back(Ramp("d" + std::to_string(i), 100, 50));
  std::map<bool, uint64_t> growth;
  for (bool refuse : {false, true}) {
    fs::path file = dir.path() / (refuse ? "hdf5.h5" : "patched.h5");
    BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
    vh5::NewVersion first = v;
    BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), first).ok());
    uint64_t before = fs::file_size(file);
    vh5::NewVersion next = v;
    next.name = "v2";
    std::map<std::string, Kept> kept;
    for (const vh5::NewDataset& d : next.datasets) kept[d.path] = kKeepAll;
    vh5::RefuseMappingPatchesForTesting(refuse);
    vh5::Status s = CommitKeeping(file, next, kept);
    vh5::RefuseMappingPatchesForTesting(false);
    BOOST_TEST_REQUIRE(s.ok(), s.ToString());
    BOOST_TEST(vh5::LastRemapCountsForTesting().patched == (refuse ? 0 : 60));
    growth[refuse] = fs::file_size(file) - before;
    ExpectReadsAsWritten(file, "v2", v.datasets);
  }
  BOOST_TEST_MESSAGE("growth: patched " << growth[false] << ", HDF5 " << growth[true]);
  BOOST_TEST(growth[false] < growth[true] * 5 / 4);
}

// A version keeping every dataset as its base's object links them all:
// nothing copied, the version group's symbol table packed (link_order.h):
// about 41 bytes of nodes and 8 of names a link, against 80 and more in
// name order.
BOOST_AUTO_TEST_CASE(unchanged_datasets_are_linked_into_a_packed_group) {
  TempDir dir;
  fs::path file = dir.path() / "linked.h5";
  vh5::NewVersion v;
  v.name = "v1";
  for (int i = 0; i < 800; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "d%05d", i);
    v.datasets.push_back(Ramp(name, 100, 4096));
  }
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  uint64_t before = fs::file_size(file);
  vh5::NewVersion next = v;
  next.name = "v2";
  std::map<std::string, Kept> kept;
  for (const vh5::NewDataset& d : next.datasets)
    kept[d.path] = Kept{vh5::DatasetPlan::Keep::kObject, {}};
  vh5::Status s = CommitKeeping(file, next, kept);
  BOOST_TEST_REQUIRE(s.ok(), s.ToString());
  uint64_t growth = fs::file_size(file) - before;
  BOOST_TEST_MESSAGE("growth for 800 linked datasets: " << growth);
  BOOST_TEST(growth < 800 * 60);
  {
    vh5::h5::Handle f(H5Fopen(file.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    BOOST_TEST_REQUIRE(f.get() >= 0);
    for (const char* path : {"d00000", "d00399", "d00799"}) {
      H5O_info_t a, b;
      std::string one = std::string("/_version_data/versions/v1/") + path;
      std::string two = std::string("/_version_data/versions/v2/") + path;
      BOOST_TEST_REQUIRE(
          H5Oget_info_by_name2(f.get(), one.c_str(), &a, H5O_INFO_BASIC, H5P_DEFAULT) >= 0);
      BOOST_TEST_REQUIRE(
          H5Oget_info_by_name2(f.get(), two.c_str(), &b, H5O_INFO_BASIC, H5P_DEFAULT) >= 0);
      BOOST_TEST(a.addr == b.addr);
      BOOST_TEST(b.rc == 2u);
    }
  }
  ExpectReadsAsWritten(file, "v2", v.datasets);
}

// Streams of every size from the shortest up decode, with liblzf as with
// any LZF reader, to the same bytes: rows, then zeros.
BOOST_AUTO_TEST_CASE(a_zero_tailed_lzf_stream_takes_any_size_and_decodes_the_same) {
  const size_t kTotal = 4096 * 48;
  for (size_t head : {size_t{0}, size_t{48}, size_t{4800}, size_t{48 * 4095}, kTotal}) {
    BOOST_TEST_CONTEXT("rows of " << head << " bytes") {
      std::string data(kTotal, '\0');
      uint64_t seed = head + 1;
      for (size_t i = 0; i < head; ++i) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        data[i] = static_cast<char>(i % 48 < 32 ? seed >> 56 : (i / 48) & 3);
      }
      vh5::ZeroTailedLzf lzf(data.data(), head, kTotal);
      BOOST_TEST(lzf.min_size() <= lzf.max_size());
      std::vector<size_t> sizes;
      for (size_t n = lzf.min_size(); n <= std::min(lzf.max_size(), lzf.min_size() + 700); ++n)
        sizes.push_back(n);
      for (size_t n : {lzf.max_size() / 2, lzf.max_size() - 1, lzf.max_size()})
        if (n >= lzf.min_size()) sizes.push_back(n);
      size_t inexact = 0, wrong = 0;
      std::string out(kTotal, 'x');
      for (size_t n : sizes) {
        std::string stream = lzf.Encode(n);
        inexact += stream.size() != n;
        unsigned got = lzf_decompress(stream.data(), static_cast<unsigned>(stream.size()),
                                      out.data(), static_cast<unsigned>(out.size()));
        wrong += got != kTotal || out != data;
      }
      BOOST_TEST(inexact == 0u);
      BOOST_TEST(wrong == 0u);
    }
  }
}

// A hash table's chunk grows by a row on every commit. Rewritten as many
// bytes as it was stored (hdf5/lzf_sized.h), it stays where it is until its
// slack is spent, instead of moving to the end of the file with its old
// place lost at the close (main: a move, and a table's worth of growth, on
// every commit). h5py reads every row; vh5 verify hashes them.
BOOST_AUTO_TEST_CASE(a_hash_table_chunk_is_rewritten_in_place) {
  TempDir dir;
  fs::path file = dir.path() / "table.h5";
  vh5::NewVersion v;
  v.name = "v0";
  v.datasets.push_back(Ramp("x", 4000, 4));  // 1,000 chunks, each its own row
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v).ok());
  auto chunk_address = [&] {
    vh5::h5::Handle f(H5Fopen(file.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    vh5::h5::Handle table(H5Dopen2(f.get(), "/_version_data/x/hash_table", H5P_DEFAULT));
    hsize_t origin[1] = {0};
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    BOOST_REQUIRE(H5Dget_chunk_info_by_coord(table.get(), origin, &mask, &address, &size) >= 0);
    return address;
  };
  haddr_t address = chunk_address();
  int moves = 0;
  const int kCommits = 60;
  for (int k = 1; k <= kCommits; ++k) {
    v.name = "v" + std::to_string(k);
    double changed = -k;
    std::memcpy(v.datasets[0].data.data() + 8 * 4 * k, &changed, 8);
    vh5::Status s = vh5::CommitVersion(file.string(), v);
    BOOST_TEST_REQUIRE(s.ok(), s.ToString());
    haddr_t now = chunk_address();
    moves += now != address;
    address = now;
  }
  BOOST_TEST_MESSAGE("hash table chunk moves in " << kCommits << " commits: " << moves);
  BOOST_TEST(moves <= 2);
  std::vector<std::string> rows = ProbeLines(R"PY(
import sys, h5py
t = h5py.File(sys.argv[1], "r")["_version_data/x/hash_table"]
rows = t[:t.attrs["largest_index"]]
print(len(rows), len({bytes(r) for r in rows["hash"]}))
for i, (a, b) in enumerate(rows["shape"]):
    assert (a, b) == (4 * i, 4 * i + 4), (i, a, b)
print("ok")
)PY",
                                             {file.string()});
  BOOST_TEST(rows.size() == 2u);
  BOOST_TEST(rows[0] == std::to_string(1000 + kCommits) + " " + std::to_string(1000 + kCommits));
  BOOST_TEST(rows.back() == "ok");
  VerifyClean(file);
}

BOOST_AUTO_TEST_SUITE_END()
