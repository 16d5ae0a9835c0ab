// vh5/history.h and the moments of vh5/timestamp.h: what prev/N and at/TIME
// look up (the mount's own answers are checked by history_paths.py).
#include <boost/test/unit_test.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "file/node_times.h"
#include "test_util.h"
#include "vh5/history.h"
#include "vh5/timestamp.h"
#include "vh5/writer.h"

using vh5test::TempDir;

namespace {

int64_t Ns(const char* stored) { return vh5::ParseTimestamp(stored).value(); }

vh5::VersionInfo Info(const std::string& name, const char* stored) {
  vh5::VersionInfo v;
  v.name = name;
  v.timestamp = stored;
  v.timestamp_ns = vh5::ParseTimestamp(stored).value_or(0);  // 0: unreadable, as the engine says
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(history)

// The own times' memo: a key made before its ids were forgotten never
// finds, nor sets, a time of whatever node the reused ids name now.
BOOST_AUTO_TEST_CASE(node_times_keys_do_not_outlive_their_ids) {
  vh5::NodeTimes times;
  using K = vh5::NodeTimes::Kind;
  uint64_t a = times.Key(K::kOwn, "v1", "x");
  uint64_t b = times.Key(K::kOwn, "v1", "y");
  BOOST_TEST(a != b);
  BOOST_TEST(times.Key(K::kWithChildren, "v1", "x") != a);
  times.Set(a, 7);
  BOOST_TEST(times.Find(a).value_or(0) == 7);
  BOOST_TEST(!times.Find(b).has_value());
  times.Clear();
  BOOST_TEST(!times.Find(a).has_value());
  uint64_t y = times.Key(K::kOwn, "v1", "y");  // ids given again from 0
  times.Set(a, 9);                             // made before: ignored
  BOOST_TEST(!times.Find(y).has_value());
  BOOST_TEST(!times.Find(a).has_value());
  times.Set(y, 11);
  BOOST_TEST(times.Find(times.Key(K::kOwn, "v1", "y")).value_or(0) == 11);
}

BOOST_AUTO_TEST_CASE(moments_in_iso_forms_and_epoch_seconds) {
  int64_t at9 = Ns("2024-02-01 09:00:00.000000+0000");
  BOOST_TEST(vh5::ParseMoment("2024-02-01").value() == Ns("2024-02-01 00:00:00+0000"));
  BOOST_TEST(vh5::ParseMoment("2024-02-01T09:00").value() == at9);
  BOOST_TEST(vh5::ParseMoment("2024-02-01 09:00").value() == at9);
  BOOST_TEST(vh5::ParseMoment("2024-02-01T09:00Z").value() == at9);
  BOOST_TEST(vh5::ParseMoment("2024-02-01T09:00:00.5Z").value() == at9 + 500000000);
  BOOST_TEST(vh5::ParseMoment("2024-02-01 10:00:00+0100").value() == at9);
  BOOST_TEST(vh5::ParseMoment("2024-02-01T10:00:00+01:00").value() == at9);
  BOOST_TEST(vh5::ParseMoment("2024-02-01T10:00+01").value() == at9);
  BOOST_TEST(vh5::ParseMoment("2024-02-01T08:00:00-01:00").value() == at9);
  BOOST_TEST(vh5::ParseMoment("@1706778000").value() == at9);
  BOOST_TEST(vh5::ParseMoment("@1706778000.25").value() == at9 + 250000000);
  BOOST_TEST(vh5::ParseMoment("@-1.5").value() == -1500000000);
  for (const char* bad : {"", "@", "@x", "@1.", "@1e9", "2024", "2024-02", "2024-13-01",
                          "2024-02-30", "2024-02-01T25:00", "2024-02-01T09", "2024-02-01T09:00+2",
                          "2024-02-01T09:00:00Zx", "yesterday", "@99999999999999"})
    BOOST_TEST(!vh5::ParseMoment(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(the_canonical_form_reads_back_to_the_same_nanosecond) {
  for (int64_t ns : {Ns("2024-02-01 09:00:00.000001+0000"), Ns("1969-12-31 23:59:59.5+0000"),
                     Ns("2024-02-01 09:00:00+0000") + 7, int64_t{0}}) {
    std::string iso = vh5::IsoTimestamp(ns);
    BOOST_TEST(vh5::ParseMoment(iso).value() == ns, iso);
  }
  BOOST_TEST(vh5::IsoTimestamp(Ns("2024-02-01 09:00:00.000001+0000")) ==
             "2024-02-01T09:00:00.000001Z");
  BOOST_TEST(vh5::IsoTimestamp(Ns("2024-02-01 09:00:00+0000") + 7) ==
             "2024-02-01T09:00:00.000000007Z");
  // The stored form is unchanged by the shared formatter.
  BOOST_TEST(vh5::FormatTimestamp(Ns("2024-02-01 09:00:00.000001+0000")) ==
             "2024-02-01 09:00:00.000001+0000");
}

BOOST_AUTO_TEST_CASE(the_latest_not_after_over_all_versions_first_name_on_ties) {
  vh5::TimeIndex index({Info("c", "2024-01-03 00:00:00+0000"),
                        Info("b", "2024-01-02 00:00:00+0000"),
                        Info("a2", "2024-01-02 00:00:00+0000"),
                        Info("z", "2023-06-01 00:00:00+0000"), Info("bad", "not a time")});
  BOOST_TEST(index.size() == 4u);  // the unreadable timestamp left out
  BOOST_TEST(!index.At(Ns("2023-05-31 23:59:59.999999+0000")).has_value());
  BOOST_TEST(index.At(Ns("2023-06-01 00:00:00+0000")).value() == "z");
  BOOST_TEST(index.At(Ns("2024-01-01 00:00:00+0000")).value() == "z");
  BOOST_TEST(index.At(Ns("2024-01-02 00:00:00+0000")).value() == "a2");
  BOOST_TEST(index.At(Ns("2024-01-02 12:00:00+0000")).value() == "a2");
  BOOST_TEST(index.At(Ns("2024-01-03 00:00:00+0000")).value() == "c");
  BOOST_TEST(index.At(Ns("2099-01-01 00:00:00+0000")).value() == "c");
  std::vector<std::pair<int64_t, std::string>> moments = index.Moments();
  BOOST_TEST_REQUIRE(moments.size() == 3u);
  BOOST_TEST(moments[1].second == "a2");
  BOOST_TEST(!vh5::TimeIndex().At(0).has_value());
}

BOOST_AUTO_TEST_CASE(the_chain_follows_prev_version_to_a_version_without_one) {
  TempDir dir;
  std::string file = (dir.path() / "chain.h5").string();
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file).ok());
  auto commit = [&](const std::string& name, const std::string& prev) {
    vh5::NewVersion v;
    v.name = name;
    v.prev_version = prev;
    BOOST_TEST_REQUIRE(vh5::CommitVersion(file, v).ok());
  };
  commit("a", "");
  commit("b", "");
  commit("solo", vh5::kFirstVersionName);
  commit("c", "b");
  auto opened = vh5::VersionedFile::OpenReadOnly(file);
  BOOST_TEST_REQUIRE(opened.ok());
  const vh5::VersionedFile& f = **opened;
  BOOST_TEST(vh5::PrevChain(f, "c") == (std::vector<std::string>{"c", "b", "a"}));
  BOOST_TEST(vh5::PrevChain(f, "solo") == (std::vector<std::string>{"solo"}));
  BOOST_TEST(vh5::PrevChain(f, "missing").empty());
  BOOST_TEST(f.CurrentVersion().value() == "c");
}

// Past a few versions asked one at a time, the rest are read in one pass
// over the versions group (shared out over threads from 256 versions):
// every version's metadata as h5py reads it, an unfinished commit and an
// object that is no group none.
BOOST_AUTO_TEST_CASE(versions_read_in_one_pass_say_what_h5py_reads) {
  TempDir dir;
  std::string file = (dir.path() / "many.h5").string();
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file).ok());
  constexpr int kVersions = 300;
  for (int k = 0; k < kVersions; ++k) {
    vh5::NewVersion v;
    v.name = "v" + std::to_string(k);
    BOOST_TEST_REQUIRE(vh5::CommitVersion(file, v).ok());
  }
  vh5test::CommandResult marked = vh5test::Run({"/usr/bin/python3", "-c", R"PY(
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    versions = f["_version_data/versions"]
    versions["v41"].attrs["committed"] = False
    versions.create_dataset("zz_not_a_version", data=[1])
    for name in sorted(versions):
        g = versions[name]
        if isinstance(g, h5py.Group) and name != "__first_version__":
            print("|".join([name, g.attrs["prev_version"], g.attrs["timestamp"], str(bool(g.attrs.get("committed", True)))]))
)PY",
                                                file});
  BOOST_TEST_REQUIRE(marked.exit_status == 0, marked.err);
  auto opened = vh5::VersionedFile::OpenReadOnly(file);
  BOOST_TEST_REQUIRE(opened.ok());
  const vh5::VersionedFile& f = **opened;
  std::istringstream lines(marked.out);
  int versions = 0, unfinished = 0;
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> field;
    for (size_t at = 0;;) {
      size_t bar = line.find('|', at);
      field.push_back(line.substr(at, bar - at));
      if (bar == std::string::npos) break;
      at = bar + 1;
    }
    BOOST_TEST_REQUIRE(field.size() == 4u);
    const std::string &name = field[0], &prev = field[1], &timestamp = field[2],
                      &committed = field[3];
    BOOST_TEST_CONTEXT(name) {
      vh5::Result<vh5::VersionInfo> info = f.GetVersionInfo(name);
      if (committed == "False") {
        BOOST_TEST(!info.ok());
        ++unfinished;
        continue;
      }
      BOOST_TEST_REQUIRE(info.ok(), info.status().ToString());
      BOOST_TEST(info->prev_version == prev);
      BOOST_TEST(info->timestamp == timestamp);
      ++versions;
    }
  }
  BOOST_TEST(versions == kVersions - 1);
  BOOST_TEST(unfinished == 1);
  BOOST_TEST(!f.GetVersionInfo("zz_not_a_version").ok());
}

BOOST_AUTO_TEST_SUITE_END()
