// One byte budget for what the process keeps to read faster (version trees,
// datasets and their chunk maps, raw_data objects, decoded chunks): entries
// are evicted least recently used first, the budget is never exceeded, and
// reads after eviction return exactly what h5py reads.
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

#include "read/memory_cache.h"
#include "test_util.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

using namespace vh5test;

namespace {

// Versions v1..v4 of datasets d0..d11 (and g/d12, g/d13), each version
// changing every dataset a little, half of them gzip-compressed in several
// chunks; returns the expected bytes by version and path.
std::map<std::string, std::map<std::string, std::string>> MakeFile(const fs::path& file) {
  std::map<std::string, std::map<std::string, std::string>> want;
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  uint64_t seed = 7;
  for (int k = 1; k <= 4; ++k) {
    vh5::NewVersion v;
    v.name = "v" + std::to_string(k);
    for (int d = 0; d < 14; ++d) {
      std::string path = (d < 12 ? "" : "g/") + std::string("d") + std::to_string(d);
      vh5::NewDataset ds = MakeDataset(path, "<f8", {3000}, {1000});
      if (d % 2) ds.compression = "gzip:4";
      ds.data.resize(3000 * 8);
      for (char& c : ds.data) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        c = static_cast<char>((seed >> 60) < 8 ? (seed >> 33) & 0xff : 0);
      }
      want[v.name][path] = ds.data;
      v.datasets.push_back(std::move(ds));
    }
    vh5::Status s = vh5::CommitVersion(file.string(), v);
    BOOST_TEST_REQUIRE(s.ok(), s.ToString());
  }
  return want;
}

struct Value {
  explicit Value(int* alive) : alive(alive) { ++*alive; }
  ~Value() { --*alive; }
  int* alive;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_budget)

BOOST_AUTO_TEST_CASE(the_cache_evicts_the_least_recently_used_and_stays_under_budget) {
  vh5::MemoryCache cache(1000);
  int alive = 0;
  uint64_t a = vh5::MemoryCache::NewOwner(), b = vh5::MemoryCache::NewOwner();
  cache.Insert(a, "x", std::make_shared<Value>(&alive), 400);
  cache.Insert(b, "x", std::make_shared<Value>(&alive), 400);  // same key, another owner
  BOOST_TEST(cache.entries() == 2u);
  BOOST_TEST(cache.Find(a, "x") != cache.Find(b, "x"));
  std::shared_ptr<const Value> held = cache.Get<Value>(b, "x");
  // a's entry is now the most recently used: b's goes first.
  BOOST_TEST(cache.Find(a, "x") != nullptr);
  cache.Insert(a, "y", std::make_shared<Value>(&alive), 400);
  BOOST_TEST(cache.bytes() == 800u);
  BOOST_TEST(cache.Find(b, "x") == nullptr);
  BOOST_TEST(cache.Find(a, "x") != nullptr);
  BOOST_TEST(alive == 3);  // b's evicted value lives while held
  held.reset();
  BOOST_TEST(alive == 2);
  // Larger than the whole budget: not kept.
  cache.Insert(a, "z", std::make_shared<Value>(&alive), 1001);
  BOOST_TEST(cache.Find(a, "z") == nullptr);
  BOOST_TEST(alive == 2);
  cache.SetCapacity(500);
  BOOST_TEST(cache.bytes() <= 500u);
  BOOST_TEST(alive == 1);
  cache.Forget(a);
  BOOST_TEST(cache.entries() == 0u);
  BOOST_TEST(cache.bytes() == 0u);
  BOOST_TEST(alive == 0);
}

BOOST_AUTO_TEST_CASE(versions_read_through_a_tiny_budget_read_exactly_and_stay_under_it) {
  TempDir dir;
  fs::path file = dir.path() / "budget.h5";
  auto want = MakeFile(file);
  uint64_t before = vh5::VersionedFile::CacheBudget();
  constexpr uint64_t kBudget = 64 << 10;  // less than one version's datasets
  vh5::VersionedFile::SetCacheBudget(kBudget);
  Isolated([&] {
    auto opened = vh5::VersionedFile::OpenReadOnly(file.string());
    BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
    std::shared_ptr<vh5::VersionedFile> f = *opened;
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& [name, datasets] : want) {
        for (const auto& [path, bytes] : datasets) {
          BOOST_TEST_CONTEXT("pass " << pass << " " << name << "/" << path) {
            auto version = f->GetVersion(name);
            BOOST_TEST_REQUIRE(version.ok(), version.status().ToString());
            auto dataset = (*version)->OpenDataset(path);
            BOOST_TEST_REQUIRE(dataset.ok(), dataset.status().ToString());
            std::string got((*dataset)->size(), '\0');
            auto n = (*dataset)->Read(0, got.size(), got.data());
            BOOST_TEST_REQUIRE(n.ok(), n.status().ToString());
            BOOST_TEST((got == bytes));
            BOOST_TEST(vh5::VersionedFile::CachedBytes() <= kBudget);
          }
        }
      }
    }
  });
  vh5::VersionedFile::SetCacheBudget(before);
}

BOOST_AUTO_TEST_CASE(cached_datasets_of_versions_sharing_paths_stay_apart) {
  TempDir dir;
  fs::path file = dir.path() / "budget.h5";
  auto want = MakeFile(file);
  auto opened = vh5::VersionedFile::OpenReadOnly(file.string());
  BOOST_TEST_REQUIRE(opened.ok(), opened.status().ToString());
  // Path by path, every version in turn, twice: the second pass is served
  // from the cache (the default budget holds it all).
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [path, bytes] : want.begin()->second) {
      for (const auto& [name, datasets] : want) {
        BOOST_TEST_CONTEXT("pass " << pass << " " << name << "/" << path) {
          auto version = (*opened)->GetVersion(name);
          BOOST_TEST_REQUIRE(version.ok(), version.status().ToString());
          auto dataset = (*version)->OpenDataset(path);
          BOOST_TEST_REQUIRE(dataset.ok(), dataset.status().ToString());
          std::string got((*dataset)->size(), '\0');
          BOOST_TEST_REQUIRE((*dataset)->Read(0, got.size(), got.data()).ok());
          BOOST_TEST((got == datasets.at(path)));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_mount_with_a_tiny_cache_size_reads_as_h5py_does) {
  TempDir dir;
  fs::path file = dir.path() / "budget.h5";
  auto want = MakeFile(file);
  boost::property_tree::ptree oracle = H5pyOracle(file);
  Mount mount(file, {"-o", "ro,cache_size=16K"});
  // Versions interleaved, twice: every tree, dataset and chunk is evicted
  // and loaded again between two reads of it.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [name, datasets] : want) {
      for (const auto& [path, bytes] : datasets) {
        BOOST_TEST_CONTEXT("pass " << pass << " " << name << "/" << path) {
          fs::path node = mount.root() / "versions" / name / path;
          std::string whole = ReadFileInPieces(node, 4096 + 8 * pass);
          BOOST_TEST(
              Sha256Hex(whole) ==
              At(At(At(At(At(oracle, "versions"), name), "datasets"), path), "sha256").data());
          BOOST_TEST((whole == bytes));
        }
      }
    }
  }
  BOOST_TEST(mount.Ended().empty());
}

// Each version tree cached holds the file handle it was read through; a
// commit opens a new one. Commits through a mount, each version read after
// it, leave the daemon's descriptors where they were and every version
// reads exactly (main kept one more handle, 2 descriptors, per commit).
BOOST_AUTO_TEST_CASE(commits_leave_no_file_handle_behind_in_the_daemon) {
  TempDir dir;
  fs::path file = dir.path() / "commits.h5";
  MakeFile(file);
  Mount mount(file);
  auto descriptors = [&] {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e :
         fs::directory_iterator(fs::path("/proc") / std::to_string(mount.pid()) / "fd"))
      ++n;
    return n;
  };
  std::map<std::string, std::string> committed;
  size_t after_two = 0;
  for (int k = 0; k < 24; ++k) {
    std::string name = "c" + std::to_string(k);
    std::string bytes(8 * 1000, static_cast<char>('a' + k % 26));
    WriteFile(mount.root() / "staging" / "d0", bytes);
    fs::rename(mount.root() / "staging", mount.root() / "versions" / name);
    committed[name] = bytes;
    for (const auto& [old, want] : committed)
      BOOST_TEST((ReadFile(mount.root() / "versions" / old / "d0") == want), old);
    if (k == 1) after_two = descriptors();
  }
  BOOST_TEST(descriptors() <= after_two + 2);
  BOOST_TEST(mount.Ended().empty());
}

BOOST_AUTO_TEST_CASE(cache_size_takes_k_m_g_and_refuses_anything_else) {
  TempDir dir;
  fs::path file = dir.path() / "budget.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  for (std::string bad :
       {"cache_size=", "cache_size=12X", "cache_size=-1", "cache_size=1T", "cache_size=M"}) {
    BOOST_TEST_CONTEXT(bad) {
      CommandResult r = Run({Vh5fsBinary(), file.string(), dir.path().string(), "-f", "-o", bad});
      BOOST_TEST(r.exit_status != 0);
      BOOST_TEST(r.err.find("bad option value") != std::string::npos);
    }
  }
  for (std::string good : {"cache_size=32M", "cache_size=1G", "cache_size=65536"}) {
    BOOST_TEST_CONTEXT(good) {
      Mount mount(file, {"-o", "ro," + good});
      BOOST_TEST(fs::is_directory(mount.root() / "versions"));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
