#include "hdf5/attribute_codec.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "hdf5/dtype.h"
#include "hdf5/h5_handle.h"

namespace vh5 {
namespace {

std::string Trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\n");
  size_t b = s.find_last_not_of(" \t\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// Splits a nested Python list "[[1, 2], [3, 4]]" into its leaf texts. A
// parenthesized leaf ("(1, 2.5)", a compound element) stays whole.
Status FlattenList(const std::string& text, std::vector<std::string>* out) {
  std::string current;
  int depth = 0;
  int parens = 0;
  char quote = 0;
  bool seen_open = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      current.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        current.push_back(text[++i]);
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      current.push_back(c);
    } else if (c == '(' || (parens > 0 && c == ')')) {
      parens += c == '(' ? 1 : -1;
      current.push_back(c);
    } else if (parens > 0) {
      current.push_back(c);
    } else if (c == '[') {
      ++depth;
      seen_open = true;
    } else if (c == ']' || c == ',') {
      if (c == ']' && --depth < 0) return Status::InvalidArgument("unbalanced ] in " + text);
      std::string item = Trim(current);
      if (!item.empty()) out->push_back(item);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (depth != 0 || parens != 0 || quote || !seen_open)
    return Status::InvalidArgument("not a list: " + text);
  return Status::OK();
}

// The value of a Python str or bytes literal ('a\n', b'x'), or the text itself.
std::string Unquote(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t[0] == 'b') t = t.substr(1);
  if (t.size() < 2 || (t[0] != '\'' && t[0] != '"') || t.back() != t[0]) return text;
  std::string out;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    if (t[i] == '\\' && i + 2 < t.size()) {
      char e = t[++i];
      switch (e) {
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'x':
          if (i + 2 < t.size()) {
            out.push_back(static_cast<char>(std::stoi(t.substr(i + 1, 2), nullptr, 16)));
            i += 2;
          }
          break;
        default:
          out.push_back(e);
      }
    } else {
      out.push_back(t[i]);
    }
  }
  return out;
}

bool ParseDouble(const std::string& text, double* out) {
  std::string t = Trim(text);
  if (t == "nan")
    *out = NAN;
  else if (t == "inf")
    *out = INFINITY;
  else if (t == "-inf")
    *out = -INFINITY;
  else {
    char* end = nullptr;
    errno = 0;
    *out = std::strtod(t.c_str(), &end);
    return !t.empty() && end == t.c_str() + t.size();
  }
  return true;
}

// Python complex literals: "0j", "(1+2j)", "(1.5-0.5j)", "3".
bool ParseComplex(const std::string& text, double* re, double* im) {
  std::string t = Trim(text);
  if (t.size() >= 2 && t.front() == '(' && t.back() == ')') t = t.substr(1, t.size() - 2);
  *re = *im = 0;
  if (t.empty()) return false;
  if (t.back() != 'j') return ParseDouble(t, re);
  t.pop_back();
  // The sign between the parts is the last + or - not at the start or after an 'e'.
  size_t split = std::string::npos;
  for (size_t i = t.size(); i-- > 1;) {
    if ((t[i] == '+' || t[i] == '-') && t[i - 1] != 'e' && t[i - 1] != 'E') {
      split = i;
      break;
    }
  }
  if (split == std::string::npos) return ParseDouble(t, im);
  return ParseDouble(t.substr(0, split), re) && ParseDouble(t.substr(split), im);
}

// Parses "(2, 3)<f8" into dims {2, 3} and "<f8"; a plain spelling has no dims.
Status SplitShape(const std::string& type, std::vector<hsize_t>* dims, std::string* spelling) {
  if (type.empty() || type[0] != '(') {
    *spelling = type;
    return Status::OK();
  }
  size_t close = type.find(')');
  if (close == std::string::npos) return Status::InvalidArgument("bad attribute type " + type);
  std::string inner = type.substr(1, close - 1);
  size_t pos = 0;
  while (pos < inner.size()) {
    size_t comma = inner.find(',', pos);
    std::string item = Trim(inner.substr(pos, comma == std::string::npos ? comma : comma - pos));
    if (!item.empty()) {
      char* end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(item.c_str(), &end, 10);
      if (*end != '\0' || item[0] == '-' || errno == ERANGE)
        return Status::InvalidArgument("bad attribute shape " + type);
      dims->push_back(v);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  *spelling = type.substr(close + 1);
  return Status::OK();
}

// Splits a Python tuple literal "(1, 'a, b', (2, 3), [4, 5])" into its
// top-level item texts; "(7,)" has one item.
Status SplitTuple(const std::string& text, std::vector<std::string>* out) {
  std::string t = Trim(text);
  if (t.size() < 2 || t.front() != '(' || t.back() != ')')
    return Status::InvalidArgument("not a tuple: " + text);
  std::string current;
  int depth = 0;
  char quote = 0;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    char c = t[i];
    if (quote) {
      current.push_back(c);
      if (c == '\\' && i + 2 < t.size()) {
        current.push_back(t[++i]);
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(' || c == '[') {
      ++depth;
    } else if (c == ')' || c == ']') {
      if (--depth < 0) return Status::InvalidArgument("unbalanced tuple: " + text);
    } else if (c == ',' && depth == 0) {
      out->push_back(Trim(current));
      current.clear();
      continue;
    }
    current.push_back(c);
  }
  if (depth != 0 || quote) return Status::InvalidArgument("unbalanced tuple: " + text);
  if (!Trim(current).empty()) out->push_back(Trim(current));
  return Status::OK();
}

// Whether `type` (an integer type) holds the value; HDF5's conversion would clamp.
bool IntegerFits(hid_t type, bool negative, unsigned long long magnitude) {
  size_t bits = 8 * H5Tget_size(type);
  bool is_signed = H5Tget_sign(type) != H5T_SGN_NONE;
  if (bits >= 64 && !is_signed) return !negative;
  unsigned long long limit =
      is_signed ? (1ULL << (bits - 1)) : (bits >= 64 ? ~0ULL : (1ULL << bits) - 1);
  if (!is_signed) return !negative && magnitude <= limit;
  return negative ? magnitude <= limit : magnitude < limit;
}

bool IsComplex(hid_t type) {
  if (H5Tget_nmembers(type) != 2) return false;
  char* r = H5Tget_member_name(type, 0);
  char* i = H5Tget_member_name(type, 1);
  bool named = r && i && std::strcmp(r, "r") == 0 && std::strcmp(i, "i") == 0;
  H5free_memory(r);
  H5free_memory(i);
  return named && H5Tget_member_class(type, 0) == H5T_FLOAT &&
         H5Tget_member_class(type, 1) == H5T_FLOAT;
}

// Converts one value of memory type `from` at `value` into `size` bytes of
// file type `to` at `out`.
Status Convert(hid_t from, hid_t to, const void* value, size_t size, char* out) {
  size_t from_size = H5Tget_size(from);
  std::vector<char> buf(std::max(from_size, size)), background(buf.size());
  std::memcpy(buf.data(), value, from_size);
  if (H5Tconvert(from, to, 1, buf.data(), background.data(), H5P_DEFAULT) < 0)
    return h5::Error("cannot convert a value", Status::Code::kInvalidArgument);
  std::memcpy(out, buf.data(), size);
  return Status::OK();
}

// One element of file type `type`, given as ElementToText writes it (a Python
// literal; compounds as tuples, array members as lists), encoded into the
// H5Tget_size(type) bytes at `out`.
Status EncodeOne(hid_t type, const std::string& text, char* out) {
  size_t size = H5Tget_size(type);
  std::string t = Trim(text);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      bool negative = !t.empty() && t[0] == '-';
      std::string digits = negative || (!t.empty() && t[0] == '+') ? t.substr(1) : t;
      if (digits.empty() || !std::isdigit(static_cast<unsigned char>(digits[0])))
        return Status::InvalidArgument("bad integer");
      char* end = nullptr;
      errno = 0;
      unsigned long long magnitude = std::strtoull(digits.c_str(), &end, 10);
      if (*end != '\0' || errno == ERANGE || !IntegerFits(type, negative, magnitude))
        return Status::InvalidArgument("bad integer");
      if (negative) {
        long long v = magnitude == (1ULL << 63) ? std::numeric_limits<long long>::min()
                                                : -static_cast<long long>(magnitude);
        return Convert(H5T_NATIVE_LLONG, type, &v, size, out);
      }
      return Convert(H5T_NATIVE_ULLONG, type, &magnitude, size, out);
    }
    case H5T_FLOAT: {
      double v;
      if (!ParseDouble(t, &v)) return Status::InvalidArgument("bad float");
      return Convert(H5T_NATIVE_DOUBLE, type, &v, size, out);
    }
    case H5T_ENUM: {  // h5py's bool, or another enum by its integer value
      h5::Handle base(H5Tget_super(type));
      if (t == "True" || t == "true") t = "1";
      if (t == "False" || t == "false") t = "0";
      return EncodeOne(base.get(), t, out);
    }
    case H5T_STRING: {
      if (H5Tis_variable_str(type) > 0)
        return Status::Unsupported("a variable-length string inside a fixed-size value");
      std::string value = Unquote(t);
      if (value.size() > size) return Status::InvalidArgument("string too long");
      char pad = H5Tget_strpad(type) == H5T_STR_SPACEPAD ? ' ' : '\0';
      std::memset(out, pad, size);
      std::memcpy(out, value.data(), value.size());
      return Status::OK();
    }
    case H5T_COMPOUND: {
      if (IsComplex(type)) {
        double parts[2];
        if (!ParseComplex(t, &parts[0], &parts[1])) return Status::InvalidArgument("bad complex");
        for (unsigned i = 0; i < 2; ++i) {
          h5::Handle member(H5Tget_member_type(type, i));
          VH5_RETURN_IF_ERROR(Convert(H5T_NATIVE_DOUBLE, member.get(), &parts[i],
                                      H5Tget_size(member.get()),
                                      out + H5Tget_member_offset(type, i)));
        }
        return Status::OK();
      }
      std::vector<std::string> items;
      VH5_RETURN_IF_ERROR(SplitTuple(t, &items));
      int n = H5Tget_nmembers(type);
      if (n < 0 || items.size() != static_cast<size_t>(n))
        return Status::InvalidArgument("wrong number of fields");
      std::memset(out, 0, size);
      for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
        h5::Handle member(H5Tget_member_type(type, i));
        VH5_RETURN_IF_ERROR(EncodeOne(member.get(), items[i], out + H5Tget_member_offset(type, i)));
      }
      return Status::OK();
    }
    case H5T_ARRAY: {
      h5::Handle base(H5Tget_super(type));
      size_t base_size = H5Tget_size(base.get());
      std::vector<std::string> items;
      VH5_RETURN_IF_ERROR(FlattenList(t, &items));
      if (base_size == 0 || items.size() * base_size != size)
        return Status::InvalidArgument("wrong number of array items");
      for (size_t i = 0; i < items.size(); ++i)
        VH5_RETURN_IF_ERROR(EncodeOne(base.get(), items[i], out + i * base_size));
      return Status::OK();
    }
    default: {  // opaque and the rest: the bytes literal of the stored layout
      std::string bytes = Unquote(t);
      if (bytes.size() != size) return Status::InvalidArgument("wrong number of bytes");
      std::memcpy(out, bytes.data(), size);
      return Status::OK();
    }
  }
}

Status Bad(const Attribute& attr) {
  return Status::InvalidArgument("attribute " + attr.name + ": \"" + attr.text +
                                 "\" is not a value of type " +
                                 (attr.type.empty() ? "vlen-str" : attr.type));
}

}  // namespace

Status EncodeElements(hid_t type, const std::string& spelling,
                      const std::vector<std::string>& items, bool quoted_strings,
                      EncodedElements* out) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  std::vector<char>& buf = out->buf;
  std::vector<std::string>& strings = out->strings;
  std::vector<const char*>& pointers = out->pointers;
  h5::Handle& mem_type = out->mem_type;
  mem_type = h5::Handle(H5Tcopy(type));
  size_t count = items.size();
  if (cls == H5T_STRING) {
    for (const std::string& item : items) strings.push_back(quoted_strings ? Unquote(item) : item);
    if (H5Tis_variable_str(type) > 0) {
      for (const std::string& s : strings) pointers.push_back(s.c_str());
    } else {
      buf.assign(size * count, '\0');
      for (size_t i = 0; i < count; ++i) {
        if (strings[i].size() > size) return Status::InvalidArgument("bad value");
        std::memcpy(buf.data() + i * size, strings[i].data(), strings[i].size());
      }
    }
  } else if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(type) != H5T_SGN_NONE;
    mem_type = h5::Handle(H5Tcopy(is_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64));
    buf.assign(8 * count, 0);
    for (size_t i = 0; i < count; ++i) {
      std::string t = Trim(items[i]);
      char* end = nullptr;
      errno = 0;
      if (is_signed) {
        long long v = std::strtoll(t.c_str(), &end, 10);
        std::memcpy(buf.data() + 8 * i, &v, 8);
      } else {
        if (!t.empty() && t[0] == '-') return Status::InvalidArgument("bad value");
        unsigned long long v = std::strtoull(t.c_str(), &end, 10);
        std::memcpy(buf.data() + 8 * i, &v, 8);
      }
      if (t.empty() || *end != '\0' || errno == ERANGE) return Status::InvalidArgument("bad value");
      unsigned long long magnitude;
      std::memcpy(&magnitude, buf.data() + 8 * i, 8);
      bool negative = is_signed && static_cast<long long>(magnitude) < 0;
      if (negative) magnitude = 0ULL - magnitude;
      if (!IntegerFits(type, negative, magnitude)) return Status::InvalidArgument("out of range");
    }
  } else if (cls == H5T_FLOAT) {
    mem_type = h5::Handle(H5Tcopy(H5T_NATIVE_DOUBLE));
    buf.assign(8 * count, 0);
    for (size_t i = 0; i < count; ++i) {
      double v;
      if (!ParseDouble(items[i], &v)) return Status::InvalidArgument("bad value");
      std::memcpy(buf.data() + 8 * i, &v, 8);
    }
  } else if (cls == H5T_COMPOUND && H5Tget_nmembers(type) == 2 && spelling.size() > 1 &&
             spelling[1] == 'c') {
    mem_type = h5::Handle(H5Tcreate(H5T_COMPOUND, 16));
    H5Tinsert(mem_type.get(), "r", 0, H5T_NATIVE_DOUBLE);
    H5Tinsert(mem_type.get(), "i", 8, H5T_NATIVE_DOUBLE);
    buf.assign(16 * count, 0);
    for (size_t i = 0; i < count; ++i) {
      double re, im;
      if (!ParseComplex(items[i], &re, &im)) return Status::InvalidArgument("bad value");
      std::memcpy(buf.data() + 16 * i, &re, 8);
      std::memcpy(buf.data() + 16 * i + 8, &im, 8);
    }
  } else {
    // Enums (h5py's bool), compounds (tuples), opaque (bytes literals):
    // encoded element by element in the file type's own layout.
    buf.assign(size * count, 0);
    for (size_t i = 0; i < count; ++i)
      VH5_RETURN_IF_ERROR(EncodeOne(type, items[i], buf.data() + i * size));
  }

  return Status::OK();
}

Result<std::string> ParseElement(const std::string& numpy, const std::string& text) {
  VH5_ASSIGN_OR_RETURN(h5::Handle type, TypeFromNumpy(numpy));
  if (H5Tis_variable_str(type.get()) > 0)
    return Status::InvalidArgument("variable-length strings have no fill value");
  EncodedElements encoded;
  // Bytes values come as literals (b'ab'), as ElementToText writes them.
  Status s = EncodeElements(type.get(), numpy, {text}, true, &encoded);
  if (!s.ok()) return Status::InvalidArgument("\"" + text + "\" is not a value of type " + numpy);
  size_t size = H5Tget_size(type.get());
  size_t mem_size = H5Tget_size(encoded.mem_type.get());
  std::vector<char> buf(std::max(size, mem_size));
  std::vector<char> background(buf.size());  // compound conversions need one
  std::memcpy(buf.data(), encoded.data(), mem_size);
  if (H5Tequal(encoded.mem_type.get(), type.get()) <= 0 &&
      H5Tconvert(encoded.mem_type.get(), type.get(), 1, buf.data(), background.data(),
                 H5P_DEFAULT) < 0)
    return h5::Error("cannot convert \"" + text + "\" to " + numpy, Status::Code::kInvalidArgument);
  return std::string(buf.data(), size);
}

Status CheckAttributeType(const std::string& type) {
  std::vector<hsize_t> dims;
  std::string spelling;
  bool null_space = type.rfind("empty:", 0) == 0;
  VH5_RETURN_IF_ERROR(SplitShape(null_space ? type.substr(6) : type, &dims, &spelling));
  if (spelling.empty()) spelling = "vlen-str";
  VH5_RETURN_IF_ERROR(TypeFromNumpy(spelling).status());
  // HDF5 keeps an attribute in its object's header: 64 KiB of it at most
  // (the writer's files use the original format), so a larger array
  // never commits.
  uint64_t count = 1;
  for (hsize_t d : dims) {
    if (d != 0 && count > (uint64_t{1} << 16) / d)
      return Status::InvalidArgument("an attribute array of more than 65536 elements: " + type);
    count *= d;
  }
  return Status::OK();
}

Status WriteAttribute(hid_t obj, const Attribute& attr) {
  std::vector<hsize_t> dims;
  std::string spelling;
  bool null_space = attr.type.rfind("empty:", 0) == 0;
  VH5_RETURN_IF_ERROR(SplitShape(null_space ? attr.type.substr(6) : attr.type, &dims, &spelling));
  if (spelling.empty()) spelling = "vlen-str";
  bool is_array = attr.type.size() > 0 && attr.type[0] == '(';
  VH5_ASSIGN_OR_RETURN(h5::Handle type, TypeFromNumpy(spelling));

  h5::Handle space(null_space ? H5Screate(H5S_NULL)
                   : is_array
                       ? H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)
                       : H5Screate(H5S_SCALAR));
  size_t count = 1;
  for (hsize_t d : dims) count *= d;
  if (null_space) count = 0;

  std::vector<std::string> items;
  if (is_array) {
    VH5_RETURN_IF_ERROR(FlattenList(attr.text, &items));
    if (items.size() != count) return Bad(attr);
  } else if (!null_space) {
    items.push_back(attr.text);
  }

  EncodedElements encoded;
  if (!EncodeElements(type.get(), spelling, items, is_array, &encoded).ok()) return Bad(attr);
  if (h5::AttributeExists(obj, attr.name) && H5Adelete(obj, attr.name.c_str()) < 0)
    return h5::Error("cannot replace attribute " + attr.name);
  h5::Handle a(
      H5Acreate2(obj, attr.name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!a) return h5::Error("cannot create attribute " + attr.name);
  if (count == 0) return Status::OK();
  if (H5Awrite(a.get(), encoded.mem_type.get(), encoded.data()) < 0)
    return h5::Error("cannot write attribute " + attr.name);
  return Status::OK();
}

}  // namespace vh5
