// The dataspace, fill value and layout decoders (format/dataset_messages.h)
// on messages built byte by byte after the HDF5 file format specification:
// every field lands where the format puts it, and every message cut short
// is refused, never read past its end.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <vector>

#include "format/dataset_messages.h"
#include "util/byte_decoder.h"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes& Le(Bytes* out, size_t n, uint64_t v) {
  vh5::AppendLe(out, n, v);
  return *out;
}

// Each proper prefix of `message` is Corruption for `decode`.
template <typename Decode>
void EveryPrefixRefused(const Bytes& message, Decode decode) {
  for (size_t n = 0; n < message.size(); ++n) {
    auto r = decode(std::span<const uint8_t>(message.data(), n));
    BOOST_TEST((r.status().code() == vh5::Status::Code::kCorruption), "prefix of " << n);
  }
}

const vh5::MessageContext kCtx{8, 8};

}  // namespace

BOOST_AUTO_TEST_SUITE(dataset_messages)

BOOST_AUTO_TEST_CASE(layout_version_4_single_chunk_keeps_its_filtered_size_before_the_address) {
  // H5D_CHUNK_IDX_SINGLE (1) with H5O_LAYOUT_CHUNK_SINGLE_INDEX_WITH_FILTER:
  // the chunk's stored size and filter mask come before the address.
  Bytes m = {4, 2, 0x02, 2, 4};
  Le(&m, 4, 100);
  Le(&m, 4, 8);
  m.push_back(1);
  Le(&m, 8, 12345);     // filtered size
  Le(&m, 4, 0);         // filter mask
  Le(&m, 8, 0xabcdef);  // the chunk's address
  auto layout = vh5::DecodeLayout(m, kCtx);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST((layout->layout_class == vh5::LayoutClass::kChunked));
  BOOST_TEST((layout->chunk == std::vector<uint64_t>{100, 8}));
  BOOST_TEST(layout->chunk_index == 1);
  BOOST_TEST(layout->address == 0xabcdefu);
  EveryPrefixRefused(m, [](auto b) { return vh5::DecodeLayout(b, kCtx); });

  // Implicit (2): nothing between the index type and the address.
  Bytes implicit = {4, 2, 0x00, 2, 4};
  Le(&implicit, 4, 100);
  Le(&implicit, 4, 8);
  implicit.push_back(2);
  Le(&implicit, 8, 0x1234);
  layout = vh5::DecodeLayout(implicit, kCtx);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST(layout->address == 0x1234u);
  EveryPrefixRefused(implicit, [](auto b) { return vh5::DecodeLayout(b, kCtx); });
}

BOOST_AUTO_TEST_CASE(layout_versions_1_to_3_chunked_give_the_b_tree) {
  Bytes v3 = {3, 2, 3};
  Le(&v3, 8, 0x4000);
  for (uint64_t d : {64, 16, 8}) Le(&v3, 4, d);
  auto layout = vh5::DecodeLayout(v3, kCtx);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST(layout->version == 3);
  BOOST_TEST(layout->address == 0x4000u);
  BOOST_TEST((layout->chunk == std::vector<uint64_t>{64, 16, 8}));
  EveryPrefixRefused(v3, [](auto b) { return vh5::DecodeLayout(b, kCtx); });

  Bytes v1 = {1, 2, 2, 0, 0, 0, 0, 0};
  Le(&v1, 8, 0x800);
  Le(&v1, 4, 10);
  Le(&v1, 4, 4);
  layout = vh5::DecodeLayout(v1, kCtx);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST(layout->address == 0x800u);
  BOOST_TEST((layout->chunk == std::vector<uint64_t>{10, 4}));
  EveryPrefixRefused(v1, [](auto b) { return vh5::DecodeLayout(b, kCtx); });

  // Narrow addresses (2 bytes) move every later field.
  vh5::MessageContext narrow{2, 2};
  Bytes v3n = {3, 2, 2};
  Le(&v3n, 2, 0x77);
  Le(&v3n, 4, 5);
  Le(&v3n, 4, 1);
  layout = vh5::DecodeLayout(v3n, narrow);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST(layout->address == 0x77u);
  BOOST_TEST((layout->chunk == std::vector<uint64_t>{5, 1}));
}

BOOST_AUTO_TEST_CASE(layout_virtual_compact_and_refusals) {
  Bytes virt = {4, 3};
  Le(&virt, 8, 0x900);
  Le(&virt, 4, 3);
  auto layout = vh5::DecodeLayout(virt, kCtx);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST((layout->layout_class == vh5::LayoutClass::kVirtual));
  BOOST_TEST(layout->heap_defined);
  BOOST_TEST(layout->heap_address == 0x900u);
  BOOST_TEST(layout->heap_index == 3u);
  EveryPrefixRefused(virt, [](auto b) { return vh5::DecodeLayout(b, kCtx); });
  // No mapping yet: the undefined address, where the commit later writes one.
  Bytes empty = {4, 3};
  Le(&empty, 8, UINT64_MAX);
  Le(&empty, 4, 0);
  layout = vh5::DecodeLayout(empty, kCtx);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST(!layout->heap_defined);
  BOOST_TEST(vh5::kVirtualLayoutHeapIdOffset == 2u);

  Bytes compact = {3, 0};
  Le(&compact, 2, 3);
  for (uint8_t b : {7, 8, 9}) compact.push_back(b);
  layout = vh5::DecodeLayout(compact, kCtx);
  BOOST_TEST_REQUIRE(layout.ok());
  BOOST_TEST((Bytes(layout->compact.begin(), layout->compact.end()) == Bytes{7, 8, 9}));
  EveryPrefixRefused(compact, [](auto b) { return vh5::DecodeLayout(b, kCtx); });

  for (Bytes bad : {Bytes{5, 1}, Bytes{3, 4}, Bytes{3, 3, 0, 0}, Bytes{1, 2, 3, 0, 0, 0, 0, 0},
                    Bytes{4, 2, 0x04, 1, 4, 0, 0, 0, 0, 1}, Bytes{4, 2, 0, 1, 9}}) {
    auto r = vh5::DecodeLayout(bad, kCtx);
    BOOST_TEST((r.status().code() == vh5::Status::Code::kCorruption));
  }
}

BOOST_AUTO_TEST_CASE(dataspaces_of_both_versions) {
  Bytes v1 = {1, 2, 0x01, 0, 0, 0, 0, 0};
  Le(&v1, 8, 300);
  Le(&v1, 8, 40);
  Le(&v1, 8, UINT64_MAX);  // maximum dimensions
  Le(&v1, 8, 40);
  auto space = vh5::DecodeDataspace(v1, kCtx);
  BOOST_TEST_REQUIRE(space.ok());
  BOOST_TEST((space->dims == std::vector<uint64_t>{300, 40}));
  BOOST_TEST(*space->count == 12000u);
  BOOST_TEST(space->length == v1.size());
  BOOST_TEST(space->simple());
  EveryPrefixRefused(v1, [](auto b) { return vh5::DecodeDataspace(b, kCtx); });

  auto scalar = vh5::DecodeDataspace(Bytes{2, 0, 0, 0}, kCtx);
  BOOST_TEST_REQUIRE(scalar.ok());
  BOOST_TEST(!scalar->simple());
  BOOST_TEST(*scalar->count == 1u);
  auto null = vh5::DecodeDataspace(Bytes{2, 0, 0, 2}, kCtx);
  BOOST_TEST_REQUIRE(null.ok());
  BOOST_TEST(null->null);
  BOOST_TEST(*null->count == 0u);

  Bytes huge = {2, 2, 0, 1};
  Le(&huge, 8, uint64_t{1} << 32);
  Le(&huge, 8, uint64_t{1} << 32);
  auto overflow = vh5::DecodeDataspace(huge, kCtx);
  BOOST_TEST_REQUIRE(overflow.ok());
  BOOST_TEST(!overflow->count);

  for (Bytes bad : {Bytes{3, 0, 0, 0}, Bytes{2, 1, 0, 0}, Bytes{2, 0, 0, 3}, Bytes{2, 33, 0, 1}}) {
    auto r = vh5::DecodeDataspace(bad, kCtx);
    BOOST_TEST((r.status().code() == vh5::Status::Code::kCorruption));
  }
}

BOOST_AUTO_TEST_CASE(fill_values_of_every_form) {
  Bytes v2 = {2, 1, 2, 1};
  Le(&v2, 4, 4);
  for (uint8_t b : {1, 2, 3, 4}) v2.push_back(b);
  auto fill = vh5::DecodeFillValue(v2, false);
  BOOST_TEST_REQUIRE(fill.ok());
  BOOST_TEST_REQUIRE(fill->value.has_value());
  BOOST_TEST((Bytes(fill->value->begin(), fill->value->end()) == Bytes{1, 2, 3, 4}));
  EveryPrefixRefused(v2, [](auto b) { return vh5::DecodeFillValue(b, false); });

  // Undefined in version 1 or 2: no size follows, as HDF5 decodes it.
  for (uint8_t version : {1, 2}) {
    auto undefined = vh5::DecodeFillValue(Bytes{version, 1, 2, 0}, false);
    BOOST_TEST_REQUIRE(undefined.ok());
    BOOST_TEST(!undefined->value.has_value());
  }

  Bytes v3 = {3, 0x20};
  Le(&v3, 4, 2);
  v3.push_back(9);
  v3.push_back(9);
  fill = vh5::DecodeFillValue(v3, false);
  BOOST_TEST_REQUIRE(fill.ok());
  BOOST_TEST(fill->value->size() == 2u);
  EveryPrefixRefused(v3, [](auto b) { return vh5::DecodeFillValue(b, false); });
  auto unset = vh5::DecodeFillValue(Bytes{3, 0x10}, false);
  BOOST_TEST_REQUIRE(unset.ok());
  BOOST_TEST(!unset->value.has_value());

  Bytes old;
  Le(&old, 4, 1);
  old.push_back(5);
  fill = vh5::DecodeFillValue(old, true);
  BOOST_TEST_REQUIRE(fill.ok());
  BOOST_TEST(fill->value->size() == 1u);
  EveryPrefixRefused(old, [](auto b) { return vh5::DecodeFillValue(b, true); });

  for (Bytes bad :
       {Bytes{4, 0}, Bytes{3, 0x30}, Bytes{3, 0x40}, Bytes{3, 0x20, 0xff, 0xff, 0xff, 0xff}}) {
    auto r = vh5::DecodeFillValue(bad, false);
    BOOST_TEST((r.status().code() == vh5::Status::Code::kCorruption));
  }
}

BOOST_AUTO_TEST_SUITE_END()
