#include "hdf5/dtype.h"

#include <cstring>
#include <vector>

#include "util/py_literal.h"

namespace vh5 {
namespace {

char ByteOrderChar(hid_t type) {
  if (H5Tget_size(type) == 1) return '|';
  return H5Tget_order(type) == H5T_ORDER_BE ? '>' : '<';
}

// h5py stores NumPy bool as an enum over int8 with FALSE = 0 and TRUE = 1.
bool IsBoolEnum(hid_t type) {
  if (H5Tget_class(type) != H5T_ENUM || H5Tget_size(type) != 1) return false;
  if (H5Tget_nmembers(type) != 2) return false;
  for (unsigned i = 0; i < 2; ++i) {
    char* name = H5Tget_member_name(type, i);
    std::string n = name ? name : "";
    H5free_memory(name);
    signed char value = 0;
    if (H5Tget_member_value(type, i, &value) < 0) return false;
    if (!((n == "FALSE" && value == 0) || (n == "TRUE" && value == 1))) return false;
  }
  return true;
}

std::string MemberName(hid_t type, unsigned i) {
  char* name = H5Tget_member_name(type, i);
  std::string n = name ? name : "";
  H5free_memory(name);
  return n;
}

// h5py stores NumPy complex as a compound of two equal floats named r and i.
bool IsComplexCompound(hid_t type) {
  if (H5Tget_class(type) != H5T_COMPOUND || H5Tget_nmembers(type) != 2) return false;
  if (MemberName(type, 0) != "r" || MemberName(type, 1) != "i") return false;
  h5::Handle t0(H5Tget_member_type(type, 0));
  h5::Handle t1(H5Tget_member_type(type, 1));
  if (H5Tget_class(t0.get()) != H5T_FLOAT || H5Tequal(t0.get(), t1.get()) <= 0) return false;
  size_t part = H5Tget_size(t0.get());
  return H5Tget_member_offset(type, 0) == 0 && H5Tget_member_offset(type, 1) == part &&
         H5Tget_size(type) == 2 * part;
}

Result<std::string> Spell(hid_t type);

// A field's type in a descr: nested compounds stay lists, others are quoted.
std::string FieldType(const std::string& spelling) {
  if (spelling.starts_with("[")) return spelling;
  return py::StrRepr(spelling);
}

// NumPy's descr of a compound: fields in offset order, gaps as ('', '|Vn').
Result<std::string> SpellCompound(hid_t type) {
  int n = H5Tget_nmembers(type);
  if (n < 0) return h5::Error("cannot read compound type");
  std::string out = "[";
  size_t offset = 0;
  bool first = true;
  auto pad = [&](size_t bytes) {
    if (!first) out += ", ";
    out += "('', '|V" + std::to_string(bytes) + "')";
    first = false;
  };
  for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
    size_t member_offset = H5Tget_member_offset(type, i);
    if (member_offset < offset) return Status::Unsupported("compound with overlapping fields");
    if (member_offset > offset) pad(member_offset - offset);
    h5::Handle member(H5Tget_member_type(type, i));
    std::string field;
    if (H5Tget_class(member.get()) == H5T_ARRAY) {
      int rank = H5Tget_array_ndims(member.get());
      std::vector<hsize_t> dims(static_cast<size_t>(rank));
      H5Tget_array_dims2(member.get(), dims.data());
      h5::Handle base(H5Tget_super(member.get()));
      VH5_ASSIGN_OR_RETURN(std::string base_spelling, Spell(base.get()));
      field = py::StrRepr(MemberName(type, i)) + ", " + FieldType(base_spelling) + ", " +
              py::TupleRepr(dims);
    } else {
      VH5_ASSIGN_OR_RETURN(std::string spelling, Spell(member.get()));
      field = py::StrRepr(MemberName(type, i)) + ", " + FieldType(spelling);
    }
    if (!first) out += ", ";
    out += "(" + field + ")";
    first = false;
    offset = member_offset + H5Tget_size(member.get());
  }
  size_t size = H5Tget_size(type);
  if (size > offset) pad(size - offset);
  return out + "]";
}

Result<std::string> Spell(hid_t type) {
  size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return std::string(1, ByteOrderChar(type)) + (H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "i") +
             std::to_string(size);
    case H5T_FLOAT:
      return std::string(1, ByteOrderChar(type)) + "f" + std::to_string(size);
    case H5T_ENUM: {
      if (IsBoolEnum(type)) return std::string("|b1");
      h5::Handle base(H5Tget_super(type));
      return Spell(base.get());
    }
    case H5T_STRING:
      if (H5Tis_variable_str(type) > 0) return std::string("vlen-str");
      return "|S" + std::to_string(size);
    case H5T_COMPOUND:
      if (IsComplexCompound(type)) {
        h5::Handle part(H5Tget_member_type(type, 0));
        return std::string(1, ByteOrderChar(part.get())) + "c" + std::to_string(size);
      }
      return SpellCompound(type);
    case H5T_OPAQUE:
    case H5T_BITFIELD:
      return "|V" + std::to_string(size);
    case H5T_ARRAY: {
      int rank = H5Tget_array_ndims(type);
      if (rank < 0) return h5::Error("cannot read array type");
      std::vector<hsize_t> dims(static_cast<size_t>(rank));
      H5Tget_array_dims2(type, dims.data());
      h5::Handle base(H5Tget_super(type));
      VH5_ASSIGN_OR_RETURN(std::string base_spelling, Spell(base.get()));
      return py::TupleRepr(dims) + base_spelling;
    }
    default:
      return Status::Unsupported("HDF5 type class " + std::to_string(H5Tget_class(type)) +
                                 " has no NumPy equivalent");
  }
}

// Reads an element of a float type of any size (2, 4, 8 bytes) as a double.
Result<double> FloatValue(hid_t type, const char* bytes) {
  size_t size = H5Tget_size(type);
  std::vector<char> buf(std::max<size_t>(size, sizeof(double)));
  std::memcpy(buf.data(), bytes, size);
  if (H5Tconvert(type, H5T_NATIVE_DOUBLE, 1, buf.data(), nullptr, H5P_DEFAULT) < 0)
    return h5::Error("cannot convert float value");
  double value;
  std::memcpy(&value, buf.data(), sizeof value);
  return value;
}

template <typename T>
Result<T> IntegerValue(hid_t type, hid_t native, const char* bytes) {
  size_t size = H5Tget_size(type);
  std::vector<char> buf(std::max<size_t>(size, sizeof(T)));
  std::memcpy(buf.data(), bytes, size);
  if (H5Tconvert(type, native, 1, buf.data(), nullptr, H5P_DEFAULT) < 0)
    return h5::Error("cannot convert integer value");
  T value;
  std::memcpy(&value, buf.data(), sizeof value);
  return value;
}

}  // namespace

Result<DType> DescribeType(hid_t type) {
  VH5_ASSIGN_OR_RETURN(std::string spelling, Spell(type));
  DType out;
  out.numpy = spelling;
  out.is_vlen_string = spelling == "vlen-str";
  out.itemsize = out.is_vlen_string ? 0 : H5Tget_size(type);
  return out;
}

Result<std::string> ElementToText(hid_t type, const char* bytes) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      if (H5Tget_sign(type) == H5T_SGN_NONE) {
        VH5_ASSIGN_OR_RETURN(uint64_t v, IntegerValue<uint64_t>(type, H5T_NATIVE_UINT64, bytes));
        return std::to_string(v);
      } else {
        VH5_ASSIGN_OR_RETURN(int64_t v, IntegerValue<int64_t>(type, H5T_NATIVE_INT64, bytes));
        return std::to_string(v);
      }
    case H5T_FLOAT: {
      VH5_ASSIGN_OR_RETURN(double v, FloatValue(type, bytes));
      return py::FloatRepr(v, H5Tget_size(type) < 8);
    }
    case H5T_ENUM: {
      h5::Handle base(H5Tget_super(type));
      if (IsBoolEnum(type)) return std::string(bytes[0] ? "True" : "False");
      return ElementToText(base.get(), bytes);
    }
    case H5T_STRING: {
      if (H5Tis_variable_str(type) > 0) {
        const char* s;
        std::memcpy(&s, bytes, sizeof s);
        return py::StrRepr(s ? s : "");
      }
      std::string_view raw(bytes, H5Tget_size(type));
      size_t end = raw.find('\0');
      return py::BytesRepr(raw.substr(0, end));
    }
    case H5T_COMPOUND: {
      if (IsComplexCompound(type)) {
        h5::Handle part(H5Tget_member_type(type, 0));
        size_t half = H5Tget_size(part.get());
        VH5_ASSIGN_OR_RETURN(double re, FloatValue(part.get(), bytes));
        VH5_ASSIGN_OR_RETURN(double im, FloatValue(part.get(), bytes + half));
        return py::ComplexRepr(re, im, half < 8);
      }
      int n = H5Tget_nmembers(type);
      std::string out = "(";
      for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
        h5::Handle member(H5Tget_member_type(type, i));
        VH5_ASSIGN_OR_RETURN(std::string field,
                             ElementToText(member.get(), bytes + H5Tget_member_offset(type, i)));
        if (i) out += ", ";
        out += field;
      }
      if (n == 1) out += ",";
      return out + ")";
    }
    case H5T_ARRAY: {
      h5::Handle base(H5Tget_super(type));
      size_t base_size = H5Tget_size(base.get());
      size_t count = base_size ? H5Tget_size(type) / base_size : 0;
      std::string out = "[";
      for (size_t i = 0; i < count; ++i) {
        VH5_ASSIGN_OR_RETURN(std::string item, ElementToText(base.get(), bytes + i * base_size));
        if (i) out += ", ";
        out += item;
      }
      return out + "]";
    }
    default:
      return py::BytesRepr(std::string_view(bytes, H5Tget_size(type)));
  }
}

}  // namespace vh5
