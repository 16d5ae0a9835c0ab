// vh5/zarr.h: the Zarr v2 view's metadata, made from DatasetInfo alone.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "util/byte_decoder.h"
#include "vh5/zarr.h"

namespace vh5 {
namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

// A Python literal (repr() of numbers, strings, bytes, tuples, lists,
// True/False/None, nan/inf) as JSON: tuples become arrays, bytes strings of
// their Latin-1 code points, nan and inf Zarr's NaN and Infinity. False for
// anything else (complex numbers among them).
class PyToJson {
 public:
  explicit PyToJson(std::string_view text) : s_(text) {}
  bool Convert(std::string* out) {
    if (!Value(out)) return false;
    Space();
    return at_ == s_.size();
  }

 private:
  void Space() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\n')) ++at_;
  }
  bool Word(std::string_view w) {
    if (s_.substr(at_, w.size()) != w) return false;
    at_ += w.size();
    return true;
  }
  bool Value(std::string* out) {
    Space();
    if (at_ >= s_.size()) return false;
    char c = s_[at_];
    if (c == '[' || c == '(') return Sequence(c == '[' ? ']' : ')', out);
    if (c == '\'' || c == '"') return Str(out, false);
    if (c == 'b' && at_ + 1 < s_.size() && (s_[at_ + 1] == '\'' || s_[at_ + 1] == '"')) {
      ++at_;
      return Str(out, true);
    }
    if (Word("True")) return *out += "true", true;
    if (Word("False")) return *out += "false", true;
    if (Word("None")) return *out += "null", true;
    if (Word("nan")) return *out += "\"NaN\"", true;
    if (Word("inf")) return *out += "\"Infinity\"", true;
    if (Word("-inf")) return *out += "\"-Infinity\"", true;
    size_t start = at_;
    while (at_ < s_.size() && std::strchr("+-0123456789.eE", s_[at_]) && s_[at_] != '\0') ++at_;
    if (at_ == start || (at_ < s_.size() && s_[at_] == 'j')) return false;
    std::string number(s_.substr(start, at_ - start));
    if (number[0] == '+') number.erase(0, 1);
    // JSON wants a digit on both sides of the point.
    if (number[0] == '.') number.insert(0, "0");
    if (number.size() > 1 && number[0] == '-' && number[1] == '.') number.insert(1, "0");
    if (number.back() == '.') number += "0";
    *out += number;
    return true;
  }
  bool Sequence(char close, std::string* out) {
    ++at_;
    *out += '[';
    bool first = true;
    for (;;) {
      Space();
      if (at_ >= s_.size()) return false;
      if (s_[at_] == close) {
        ++at_;
        *out += ']';
        return true;
      }
      if (!first) {
        if (s_[at_] != ',') return false;
        ++at_;
        Space();
        if (at_ < s_.size() && s_[at_] == close) continue;  // a trailing comma: (3,)
        *out += ',';
      }
      first = false;
      if (!Value(out)) return false;
    }
  }
  bool Str(std::string* out, bool bytes) {
    char quote = s_[at_++];
    std::string value;
    while (at_ < s_.size() && s_[at_] != quote) {
      char c = s_[at_++];
      if (c != '\\') {
        value.push_back(c);
        continue;
      }
      if (at_ >= s_.size()) return false;
      char e = s_[at_++];
      switch (e) {
        case 'n':
          value.push_back('\n');
          break;
        case 'r':
          value.push_back('\r');
          break;
        case 't':
          value.push_back('\t');
          break;
        case '0':
          value.push_back('\0');
          break;
        case 'x': {
          if (at_ + 2 > s_.size()) return false;
          unsigned v = std::stoul(std::string(s_.substr(at_, 2)), nullptr, 16);
          at_ += 2;
          if (bytes && v >= 0x80) {  // Latin-1 code point, as UTF-8
            value.push_back(static_cast<char>(0xc0 | (v >> 6)));
            value.push_back(static_cast<char>(0x80 | (v & 0x3f)));
          } else {
            value.push_back(static_cast<char>(v));
          }
          break;
        }
        default:
          value.push_back(e);
      }
    }
    if (at_ >= s_.size()) return false;
    ++at_;
    AppendJsonString(value, out);
    return true;
  }

  std::string_view s_;
  size_t at_ = 0;
};

std::string Base64(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

// The unsigned integer of `n` bytes at `p`, in the byte order `order` ('>' big).
uint64_t LoadUnsigned(const char* p, size_t n, char order) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t at = order == '>' ? i : n - 1 - i;
    v = (v << 8) | static_cast<uint8_t>(p[at]);
  }
  return v;
}

double HalfToDouble(uint16_t h) {
  int exponent = (h >> 10) & 0x1f;
  double mantissa = h & 0x3ff;
  double v;
  if (exponent == 0) {
    v = std::ldexp(mantissa, -24);
  } else if (exponent == 31) {
    v = mantissa != 0 ? NAN : INFINITY;
  } else {
    v = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return (h & 0x8000) ? -v : v;
}

std::string FloatJson(const char* p, size_t n, char order) {
  double v;
  if (n == 2) {
    v = HalfToDouble(static_cast<uint16_t>(LoadUnsigned(p, 2, order)));
  } else if (n == 4) {
    uint32_t bits = static_cast<uint32_t>(LoadUnsigned(p, 4, order));
    float f;
    std::memcpy(&f, &bits, 4);
    v = f;
  } else {
    uint64_t bits = LoadUnsigned(p, 8, order);
    std::memcpy(&v, &bits, 8);
  }
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string out = buf;
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

// Zarr's JSON of the fill value: numbers, NaN/Infinity, [re, im], and base64
// of the bytes for strings and structures.
std::string FillJson(const DatasetInfo& info) {
  if (info.dtype.is_vlen_string) return "\"\"";
  const std::string& numpy = info.dtype.numpy;
  const std::string& b = info.fill_bytes;
  if (b.size() != info.dtype.itemsize || numpy.size() < 3) return "null";
  char order = numpy[0], kind = numpy[1];
  size_t n = b.size();
  switch (kind) {
    case 'b':
      return b[0] ? "true" : "false";
    case 'u':
      return std::to_string(LoadUnsigned(b.data(), n, order));
    case 'i': {
      uint64_t u = LoadUnsigned(b.data(), n, order);
      if (n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t{0} << (8 * n);
      return std::to_string(static_cast<int64_t>(u));
    }
    case 'f':
      return FloatJson(b.data(), n, order);
    case 'c':
      return "[" + FloatJson(b.data(), n / 2, order) + "," +
             FloatJson(b.data() + n / 2, n / 2, order) + "]";
    default:
      return "\"" + Base64(b) + "\"";
  }
}

std::string DtypeJson(const DType& dtype) {
  if (dtype.is_vlen_string) return "\"|O\"";
  std::string out;
  if (dtype.numpy.front() == '[' && PyToJson(dtype.numpy).Convert(&out)) return out;
  return JsonString(dtype.numpy);
}

std::string DimsJson(const std::vector<uint64_t>& dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

}  // namespace

bool ZarrKeepsEncoding(const DatasetInfo& info) {
  if (info.dtype.is_vlen_string) return false;
  std::string_view rest = info.compression;
  if (rest == "none") return true;
  if (rest.substr(0, 5) == "gzip:") {
    size_t comma = rest.find(',');
    rest = comma == std::string_view::npos ? "" : rest.substr(comma);
  }
  return rest.empty() || rest == ",shuffle" || rest == "shuffle";
}

int ZarrZlibLevel(const DatasetInfo& info) {
  if (info.compression.rfind("gzip:", 0) != 0) return 0;
  return std::atoi(info.compression.c_str() + 5);
}

bool ZarrShuffled(const DatasetInfo& info) {
  return info.compression.find("shuffle") != std::string::npos;
}

std::vector<uint64_t> ZarrChunks(const DatasetInfo& info) {
  std::vector<uint64_t> chunks = info.chunks;
  if (chunks.size() != info.shape.size()) chunks = info.shape;
  for (uint64_t& c : chunks)
    if (c == 0) c = 1;
  return chunks;
}

std::string ZarrArrayJson(const DatasetInfo& info) {
  std::string filters = "null", compressor = "null";
  if (info.dtype.is_vlen_string) {
    filters = "[\n        {\n            \"id\": \"vlen-utf8\"\n        }\n    ]";
  } else if (ZarrKeepsEncoding(info)) {
    if (ZarrShuffled(info))
      filters =
          "[\n        {\n            \"elementsize\": " + std::to_string(info.dtype.itemsize) +
          ",\n            \"id\": \"shuffle\"\n        }\n    ]";
    if (info.compression.rfind("gzip:", 0) == 0)
      compressor = "{\n        \"id\": \"zlib\",\n        \"level\": " +
                   std::to_string(ZarrZlibLevel(info)) + "\n    }";
  }
  return "{\n    \"chunks\": " + DimsJson(ZarrChunks(info)) +
         ",\n    \"compressor\": " + compressor +
         ",\n    \"dimension_separator\": \".\",\n    \"dtype\": " + DtypeJson(info.dtype) +
         ",\n    \"fill_value\": " + FillJson(info) + ",\n    \"filters\": " + filters +
         ",\n    \"order\": \"C\",\n    \"shape\": " + DimsJson(info.shape) +
         ",\n    \"zarr_format\": 2\n}\n";
}

std::vector<std::string> ZarrDimensionNames(std::string_view dataset_name, size_t rank) {
  std::vector<std::string> names;
  for (size_t d = 0; d < rank; ++d)
    names.push_back(std::string(dataset_name) + "_dim_" + std::to_string(d));
  return names;
}

std::string ZarrAttrsJson(const Attributes& attrs, const std::vector<std::string>& dimensions) {
  constexpr std::string_view kDimensions = "_ARRAY_DIMENSIONS";
  std::string out = "{";
  bool first = true;
  if (!dimensions.empty() && std::none_of(attrs.begin(), attrs.end(), [&](const Attribute& a) {
        return a.name == kDimensions;
      })) {
    out += "\n    \"_ARRAY_DIMENSIONS\": [";
    for (size_t d = 0; d < dimensions.size(); ++d) {
      if (d) out += ", ";
      AppendJsonString(dimensions[d], &out);
    }
    out += "]";
    first = false;
  }
  for (const Attribute& a : attrs) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    AppendJsonString(a.name, &out);
    out += ": ";
    // Strings are their plain text; anything else its literal, as JSON.
    bool text = a.type.empty() || a.type.rfind("|S", 0) == 0 || a.type == "vlen-str";
    std::string value;
    if (text || !PyToJson(a.text).Convert(&value)) value = JsonString(a.text);
    out += value;
  }
  return out + (first ? "}\n" : "\n}\n");
}

std::string ZarrChunkKey(uint64_t cell, const std::vector<uint64_t>& shape,
                         const std::vector<uint64_t>& chunks) {
  size_t rank = shape.size();
  if (rank == 0) return "0";
  std::vector<uint64_t> index(rank);
  for (size_t d = rank; d-- > 0;) {
    uint64_t grid = std::max<uint64_t>(1, (shape[d] + chunks[d] - 1) / chunks[d]);
    index[d] = cell % grid;
    cell /= grid;
  }
  std::string key;
  for (size_t d = 0; d < rank; ++d) key += (d ? "." : "") + std::to_string(index[d]);
  return key;
}

std::optional<uint64_t> ZarrCellOfKey(std::string_view key, const std::vector<uint64_t>& shape,
                                      const std::vector<uint64_t>& chunks) {
  size_t rank = shape.size();
  if (rank == 0) return key == "0" ? std::optional<uint64_t>(0) : std::nullopt;
  uint64_t cell = 0;
  for (size_t d = 0; d < rank; ++d) {
    size_t end = key.find('.');
    if ((end == std::string_view::npos) != (d + 1 == rank)) return std::nullopt;
    std::string_view part = key.substr(0, end);
    if (part.empty() || part.size() > 18 || (part.size() > 1 && part[0] == '0'))
      return std::nullopt;
    uint64_t i = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
      i = i * 10 + static_cast<uint64_t>(c - '0');
    }
    uint64_t grid = (shape[d] + chunks[d] - 1) / chunks[d];
    if (i >= grid) return std::nullopt;
    cell = cell * grid + i;
    key = end == std::string_view::npos ? "" : key.substr(end + 1);
  }
  return cell;
}

std::string ZarrVlenUtf8(const std::vector<std::string>& items) {
  std::string out;
  AppendLe(&out, 4, items.size());
  for (const std::string& s : items) {
    AppendLe(&out, 4, s.size());
    out += s;
  }
  return out;
}

}  // namespace vh5
