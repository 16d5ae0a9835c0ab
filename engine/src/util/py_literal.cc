#include "util/py_literal.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vh5::py {
namespace {

// Shortest round-trip digits of `value` (> 0, finite) and its decimal exponent,
// so that value == 0.d1d2d3... * 10^(exp+1).
void ShortestDigits(double value, bool single_precision, std::string* digits, int* exponent) {
  char buf[64];
  std::to_chars_result r =
      single_precision ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(value),
                                       std::chars_format::scientific)
                       : std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view s(buf, r.ptr - buf);  // "d.ddde+XX"
  size_t e = s.find('e');
  digits->clear();
  for (char c : s.substr(0, e))
    if (c != '.') digits->push_back(c);
  *exponent = std::atoi(std::string(s.substr(e + 1)).c_str());
}

std::string FormatFinite(double value, bool single_precision, bool force_point) {
  if (value == 0)
    return std::signbit(value) ? (force_point ? "-0.0" : "-0") : (force_point ? "0.0" : "0");
  std::string digits;
  int exp = 0;
  ShortestDigits(std::fabs(value), single_precision, &digits, &exp);
  // Built with append only: GCC 12 at -O3 misreads operator+ chains here (-Wrestrict).
  std::string out = value < 0 ? "-" : "";
  size_t ndigits = digits.size();
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out.append("0.");
      out.append(static_cast<size_t>(-exp - 1), '0');
      out.append(digits);
    } else if (ndigits <= static_cast<size_t>(exp) + 1) {
      out.append(digits);
      out.append(static_cast<size_t>(exp) + 1 - ndigits, '0');
      if (force_point) out.append(".0");
    } else {
      out.append(digits, 0, static_cast<size_t>(exp) + 1);
      out.push_back('.');
      out.append(digits, static_cast<size_t>(exp) + 1, std::string::npos);
    }
  } else {
    out.push_back(digits[0]);
    if (ndigits > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out.append(e);
  }
  return out;
}

std::string FormatAny(double value, bool single_precision, bool force_point) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  return FormatFinite(value, single_precision, force_point);
}

}  // namespace

std::string FloatRepr(double value, bool single_precision) {
  return FormatAny(value, single_precision, true);
}

std::string ComplexRepr(double real, double imag, bool single_precision) {
  std::string im = FormatAny(imag, single_precision, false);
  if (real == 0 && !std::signbit(real)) return im + "j";
  std::string re = FormatAny(real, single_precision, false);
  std::string sep = (im[0] == '-') ? "" : "+";
  return "(" + re + sep + im + "j)";
}

std::string BytesRepr(std::string_view bytes) {
  bool has_single = bytes.find('\'') != std::string_view::npos;
  bool has_double = bytes.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out = "b";
  out.push_back(quote);
  for (unsigned char c : bytes) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back(quote);
  return out;
}

std::string StrRepr(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace vh5::py
