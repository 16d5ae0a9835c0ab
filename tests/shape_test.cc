// vh5/shape.h against plain arithmetic: products, C-order walks of boxes,
// and the text of dimensions.
#include <boost/test/unit_test.hpp>

#include <random>
#include <vector>

#include "util/py_literal.h"
#include "vh5/shape.h"

namespace {

// The linear index in `shape` of every element of the box, C order, found
// by visiting every element of the array.
std::vector<uint64_t> BoxElements(const std::vector<uint64_t>& shape,
                                  const std::vector<uint64_t>& start,
                                  const std::vector<uint64_t>& count) {
  std::vector<uint64_t> out;
  uint64_t total = vh5::Product(shape);
  for (uint64_t lin = 0; lin < total; ++lin) {
    uint64_t rest = lin;
    bool inside = true;
    for (size_t d = shape.size(); d-- > 0;) {
      uint64_t i = rest % shape[d];
      rest /= shape[d];
      inside = inside && i >= start[d] && i < start[d] + count[d];
    }
    if (inside) out.push_back(lin);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shape)

BOOST_AUTO_TEST_CASE(products_count_elements_and_overflow_is_seen) {
  BOOST_TEST(vh5::Product(std::vector<uint64_t>{}) == 1u);
  BOOST_TEST(vh5::Product(std::vector<uint64_t>{3, 4, 5}) == 60u);
  BOOST_TEST(vh5::RowElements(std::vector<uint64_t>{3, 4, 5}) == 20u);
  BOOST_TEST(vh5::RowElements(std::vector<uint64_t>{7}) == 1u);
  BOOST_TEST(*vh5::CheckedProduct(std::vector<uint64_t>{1u << 20, 1u << 20}) == uint64_t{1} << 40);
  BOOST_TEST(!vh5::CheckedProduct(std::vector<uint64_t>{uint64_t{1} << 32, uint64_t{1} << 32}));
  // A zero extent makes any product 0, however large the rest.
  BOOST_TEST(*vh5::CheckedProduct(std::vector<uint64_t>{uint64_t{1} << 40, 0, uint64_t{1} << 40}) ==
             0u);
}

BOOST_AUTO_TEST_CASE(next_in_box_visits_every_position_once_in_c_order) {
  std::vector<uint64_t> first{1, 0, 2}, last{2, 1, 4}, index = first;
  std::vector<std::vector<uint64_t>> seen;
  do {
    seen.push_back(index);
  } while (vh5::NextInBox(index, first, last));
  BOOST_TEST(seen.size() == 2u * 2u * 3u);
  BOOST_TEST((index == first));
  for (size_t i = 1; i < seen.size(); ++i) BOOST_TEST((seen[i - 1] < seen[i]));  // C order
  BOOST_TEST((seen.back() == last));
  // Rank 0 has one position.
  std::vector<uint64_t> none;
  BOOST_TEST(!vh5::NextInBox(none, none, none));
}

BOOST_AUTO_TEST_CASE(box_rows_match_a_walk_of_every_element) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    size_t rank = 1 + rng() % 4;
    std::vector<uint64_t> shape(rank), start(rank), count(rank);
    for (size_t d = 0; d < rank; ++d) {
      shape[d] = 1 + rng() % 6;
      start[d] = rng() % shape[d];
      count[d] = rng() % (shape[d] - start[d] + 1);  // 0 included: an empty box
    }
    std::vector<uint64_t> expected = BoxElements(shape, start, count), got;
    uint64_t rows = 0;
    for (vh5::BoxRows r(shape, start, count); !r.done(); r.Next()) {
      BOOST_TEST(r.row() == rows);
      ++rows;
      for (uint64_t i = 0; i < r.length(); ++i) got.push_back(r.offset() + i);
    }
    BOOST_TEST(got == expected);
    BOOST_TEST(rows == (expected.empty() ? 0 : expected.size() / count.back()));
  }
}

BOOST_AUTO_TEST_CASE(dims_text_both_ways) {
  BOOST_TEST(vh5::DimsText(std::vector<uint64_t>{1000, 37}) == "1000,37");
  BOOST_TEST(vh5::DimsText(std::vector<uint64_t>{5}) == "5");
  BOOST_TEST(vh5::DimsText(std::vector<uint64_t>{}) == "");
  for (const char* text : {"1000,37", "1000, 37", "(1000, 37)", " ( 1000 ,37 ) "})
    BOOST_TEST((*vh5::ParseDims(text) == std::vector<uint64_t>{1000, 37}), text);
  BOOST_TEST((*vh5::ParseDims("(5,)") == std::vector<uint64_t>{5}));
  BOOST_TEST((*vh5::ParseDims("18446744073709551615") == std::vector<uint64_t>{UINT64_MAX}));
  for (const char* bad : {"", "()", "1,,2", "-1", "1x", "18446744073709551616", ",3"}) {
    vh5::Result<std::vector<uint64_t>> r = vh5::ParseDims(bad);
    BOOST_TEST((r.status().code() == vh5::Status::Code::kInvalidArgument), bad);
  }
}

BOOST_AUTO_TEST_CASE(python_reprs_of_sizes) {
  BOOST_TEST(vh5::py::TupleRepr(std::vector<uint64_t>{}) == "()");
  BOOST_TEST(vh5::py::TupleRepr(std::vector<uint64_t>{4096}) == "(4096,)");
  BOOST_TEST(vh5::py::TupleRepr(std::vector<uint64_t>{100, 16}) == "(100, 16)");
  BOOST_TEST(vh5::py::ListRepr(std::vector<uint64_t>{}) == "[]");
  BOOST_TEST(vh5::py::ListRepr(std::vector<uint64_t>{4096}) == "[4096]");
  BOOST_TEST(vh5::py::ListRepr(std::vector<uint64_t>{100, 16}) == "[100, 16]");
}

BOOST_AUTO_TEST_SUITE_END()
