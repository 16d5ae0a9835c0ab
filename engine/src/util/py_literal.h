// Python literal spellings of scalars, as repr() writes them.
#pragma once

#include <string>
#include <string_view>

namespace vh5::py {

// repr(float): shortest round-trip digits, fixed notation for exponents in
// [-4, 16), ".0" on integral values, "nan", "inf", "-inf".
std::string FloatRepr(double value, bool single_precision = false);
// repr(complex): "0j", "(1+2j)", "(1.5-0j)".
std::string ComplexRepr(double real, double imag, bool single_precision = false);
// repr(bytes): b'ab\x00'.
std::string BytesRepr(std::string_view bytes);
// repr(str) of a field name: 'x'.
std::string StrRepr(std::string_view text);

// repr(tuple) and repr(list) of sizes: "()", "(4096,)", "(100, 16)"; "[100, 16]".
template <typename Sizes>
std::string TupleRepr(const Sizes& sizes) {
  std::string out = "(";
  size_t n = 0;
  for (auto v : sizes) {
    if (n++) out += ", ";
    out += std::to_string(v);
  }
  if (n == 1) out += ",";
  return out + ")";
}
template <typename Sizes>
std::string ListRepr(const Sizes& sizes) {
  std::string tuple = TupleRepr(sizes);
  if (tuple.size() > 3 && tuple[tuple.size() - 2] == ',') tuple.erase(tuple.size() - 2, 1);
  return "[" + tuple.substr(1, tuple.size() - 2) + "]";
}

}  // namespace vh5::py
