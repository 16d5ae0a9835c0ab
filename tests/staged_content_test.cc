// StagedContent, the paged copy-on-write content of a staged dataset, against
// a plain std::string doing the same writes, truncates and rollbacks.
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <random>

#include "staging/scratch_file.h"
#include "staging/staged_content.h"
#include "test_util.h"

using namespace vh5test;

namespace {

constexpr size_t kPage = vh5::ScratchFile::kPageSize;

class StringSource final : public vh5::ByteSource {
 public:
  explicit StringSource(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  vh5::Result<size_t> Read(uint64_t offset, size_t len, char* out) const override {
    if (offset >= bytes_.size()) return size_t{0};
    size_t n = std::min<size_t>(len, bytes_.size() - offset);
    std::memcpy(out, bytes_.data() + offset, n);
    ++reads_;
    return n;
  }
  mutable int reads_ = 0;

 private:
  std::string bytes_;
};

std::string Content(const vh5::StagedContent& c) {
  std::string out(c.size(), '\0');
  auto n = c.Read(0, out.size(), out.data());
  BOOST_REQUIRE(n.ok());
  BOOST_REQUIRE_EQUAL(*n, out.size());
  return out;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() % 4);  // few values: equal runs happen
  return out;
}

// What the model says fill reads as at `offset`.
char FillAt(const std::string& fill, uint64_t offset) { return fill[offset % fill.size()]; }

}  // namespace

BOOST_AUTO_TEST_SUITE(staged_content)

BOOST_AUTO_TEST_CASE(random_operations_match_a_plain_string_model) {
  TempDir dir;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng(seed);
    std::string fill = seed % 3 == 0 ? std::string("\x01\x02\x03", 3) : std::string(1, '\0');
    std::string base_bytes = RandomBytes(rng, kPage * 5 + 1234 * (seed % 4));
    auto base = std::make_shared<StringSource>(base_bytes);
    auto scratch = std::make_shared<vh5::ScratchFile>(dir.path().string());
    {
      vh5::StagedContent content(seed % 4 == 1 ? nullptr : base, scratch, fill, seed % 2 == 0);
      std::string model = seed % 4 == 1 ? std::string() : base_bytes;
      std::string checkpoint = model;
      for (int op = 0; op < 300; ++op) {
        int kind = static_cast<int>(rng() % 10);
        if (kind < 5) {
          // A write: sometimes the base's own bytes, sometimes whole pages.
          uint64_t at = rng() % (model.size() + 2 * kPage + 1);
          if (rng() % 3 == 0) at -= at % kPage;
          size_t len = 1 + rng() % (3 * kPage);
          std::string data = RandomBytes(rng, len);
          if (rng() % 2 == 0 && at < base_bytes.size()) {
            data = base_bytes.substr(at, len);
            len = data.size();
          }
          BOOST_TEST_REQUIRE(content.Write(at, data).ok());
          if (model.size() < at + len) {
            uint64_t old = model.size();
            model.resize(at + len);
            for (uint64_t i = old; i < at; ++i) model[i] = FillAt(fill, i);
          }
          model.replace(at, len, data);
        } else if (kind < 7) {
          uint64_t size = rng() % (base_bytes.size() + 3 * kPage);
          BOOST_TEST_REQUIRE(content.Truncate(size).ok());
          uint64_t old = model.size();
          model.resize(size);
          for (uint64_t i = old; i < size; ++i) model[i] = FillAt(fill, i);
        } else if (kind < 8) {
          content.Checkpoint();
          checkpoint = model;
        } else if (kind < 9) {
          content.Rollback();
          model = checkpoint;
        } else {
          uint64_t at = rng() % (model.size() + 1);
          size_t len = rng() % (2 * kPage);
          std::string got(len, '\0');
          auto n = content.Read(at, len, got.data());
          BOOST_TEST_REQUIRE(n.ok());
          got.resize(*n);
          BOOST_TEST_REQUIRE((got == model.substr(at, len)), "seed " << seed << " op " << op);
        }
        BOOST_TEST_REQUIRE(content.size() == model.size(), "seed " << seed << " op " << op);
      }
      BOOST_TEST_REQUIRE((Content(content) == model), "seed " << seed);
      // Every byte that differs from the base lies in a changed range.
      auto ranges = content.ChangedRanges();
      auto changed = [&ranges](uint64_t i) {
        for (auto [b, e] : ranges)
          if (i >= b && i < e) return true;
        return false;
      };
      bool has_base = seed % 4 != 1;
      const std::string& origin = has_base ? base_bytes : std::string();
      for (uint64_t i = 0; i < model.size(); ++i)
        if (i >= origin.size() || model[i] != origin[i])
          BOOST_TEST_REQUIRE(changed(i), "seed " << seed << " byte " << i);
      BOOST_TEST(content.SameAsBase() == (has_base && ranges.empty() && model == origin));
    }
    // Destroyed: every scratch page returned.
    BOOST_TEST(scratch->pages_in_use() == 0u, "seed " << seed);
  }
}

BOOST_AUTO_TEST_CASE(rewriting_the_base_after_truncating_stores_nothing) {
  TempDir dir;
  std::mt19937_64 rng(7);
  std::string base_bytes = RandomBytes(rng, 40 * kPage + 100);
  auto base = std::make_shared<StringSource>(base_bytes);
  auto scratch = std::make_shared<vh5::ScratchFile>(dir.path().string());
  vh5::StagedContent content(base, scratch, std::string(8, '\0'), true);
  // What cp does over an existing file: O_TRUNC, then 128 KiB writes.
  BOOST_TEST_REQUIRE(content.Truncate(0).ok());
  for (size_t at = 0; at < base_bytes.size(); at += 128 << 10)
    BOOST_TEST_REQUIRE(content.Write(at, std::string_view(base_bytes).substr(at, 128 << 10)).ok());
  BOOST_TEST(scratch->pages_in_use() == 0u);
  BOOST_TEST(content.SameAsBase());
  BOOST_TEST(content.ChangedRanges().empty());
  // One changed byte costs one page.
  BOOST_TEST_REQUIRE(content.Write(5 * kPage + 3, "\x7f").ok());
  BOOST_TEST(scratch->pages_in_use() == 1u);
  auto ranges = content.ChangedRanges();
  BOOST_TEST_REQUIRE(ranges.size() == 1u);
  BOOST_TEST(ranges[0].first == 5 * kPage);
  BOOST_TEST(ranges[0].second == 6 * kPage);
  // Writing the old byte back makes the page the base's again.
  BOOST_TEST_REQUIRE(content.Write(5 * kPage, base_bytes.substr(5 * kPage, kPage)).ok());
  BOOST_TEST(content.SameAsBase());
  content.Checkpoint();
  BOOST_TEST(scratch->pages_in_use() == 0u);
}

BOOST_AUTO_TEST_CASE(fill_and_zeros_need_no_scratch_and_regrow_as_fill) {
  TempDir dir;
  auto scratch = std::make_shared<vh5::ScratchFile>(dir.path().string());
  std::string fill("\xff\xee", 2);
  vh5::StagedContent content(nullptr, scratch, fill, false);
  BOOST_TEST_REQUIRE(content.Truncate(10 * kPage).ok());
  BOOST_TEST(scratch->pages_in_use() == 0u);
  std::string pattern;
  for (size_t i = 0; i < 3 * kPage; ++i) pattern += fill[i % 2];
  BOOST_TEST_REQUIRE(content.Write(2 * kPage, pattern).ok());
  BOOST_TEST(scratch->pages_in_use() == 0u);
  BOOST_TEST_REQUIRE(content.Write(100, "data").ok());
  BOOST_TEST(scratch->pages_in_use() == 1u);
  // Shrink into the written page, grow again: the cut-off bytes read as fill.
  BOOST_TEST_REQUIRE(content.Truncate(102).ok());
  BOOST_TEST_REQUIRE(content.Truncate(200).ok());
  std::string got = Content(content);
  BOOST_TEST(got.substr(100, 2) == "da");
  for (size_t i = 102; i < 200; ++i) BOOST_TEST_REQUIRE(got[i] == fill[i % 2]);
}

BOOST_AUTO_TEST_CASE(a_base_past_a_shrink_is_not_read_again) {
  TempDir dir;
  std::string base_bytes(3 * kPage, 'b');
  auto base = std::make_shared<StringSource>(base_bytes);
  auto scratch = std::make_shared<vh5::ScratchFile>(dir.path().string());
  vh5::StagedContent content(base, scratch, std::string(1, 'f'), true);
  BOOST_TEST_REQUIRE(content.Truncate(kPage + 10).ok());
  BOOST_TEST_REQUIRE(content.Truncate(3 * kPage).ok());
  std::string got = Content(content);
  BOOST_TEST(got.substr(0, kPage + 10) == std::string(kPage + 10, 'b'));
  BOOST_TEST(got.substr(kPage + 10) == std::string(2 * kPage - 10, 'f'));
  BOOST_TEST(!content.SameAsBase());
}

BOOST_AUTO_TEST_CASE(scratch_goes_beside_the_file_and_leaves_no_name) {
  TempDir dir;
  auto scratch = std::make_shared<vh5::ScratchFile>(dir.path().string());
  {
    vh5::StagedContent content(nullptr, scratch, std::string(1, '\0'), false);
    BOOST_TEST_REQUIRE(content.Write(0, std::string(4 * kPage, 'x')).ok());
    BOOST_TEST(scratch->dir() == dir.path().string());
    BOOST_TEST(scratch->pages_in_use() == 4u);
  }
  BOOST_TEST(fs::is_empty(dir.path()));
}

BOOST_AUTO_TEST_SUITE_END()
