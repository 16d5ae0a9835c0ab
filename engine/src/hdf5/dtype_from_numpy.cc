// NumPy spellings to HDF5 file types, as h5py creates them.
#include <cctype>
#include <vector>

#include "hdf5/dtype.h"

namespace vh5 {
namespace {

Result<h5::Handle> Atomic(char order, char kind, size_t size) {
  bool big = order == '>';
  hid_t base = -1;
  switch (kind) {
    case 'i':
      base = size == 1   ? H5T_STD_I8LE
             : size == 2 ? (big ? H5T_STD_I16BE : H5T_STD_I16LE)
             : size == 4 ? (big ? H5T_STD_I32BE : H5T_STD_I32LE)
             : size == 8 ? (big ? H5T_STD_I64BE : H5T_STD_I64LE)
                         : -1;
      break;
    case 'u':
      base = size == 1   ? H5T_STD_U8LE
             : size == 2 ? (big ? H5T_STD_U16BE : H5T_STD_U16LE)
             : size == 4 ? (big ? H5T_STD_U32BE : H5T_STD_U32LE)
             : size == 8 ? (big ? H5T_STD_U64BE : H5T_STD_U64LE)
                         : -1;
      break;
    case 'f':
      if (size == 2) {
        // IEEE half precision, built the way h5py builds it.
        h5::Handle half(H5Tcopy(big ? H5T_IEEE_F32BE : H5T_IEEE_F32LE));
        H5Tset_fields(half.get(), 15, 10, 5, 0, 10);
        H5Tset_size(half.get(), 2);
        H5Tset_ebias(half.get(), 15);
        return half;
      }
      base = size == 4   ? (big ? H5T_IEEE_F32BE : H5T_IEEE_F32LE)
             : size == 8 ? (big ? H5T_IEEE_F64BE : H5T_IEEE_F64LE)
                         : -1;
      break;
    case 'c': {
      if (size != 8 && size != 16) break;
      VH5_ASSIGN_OR_RETURN(h5::Handle part, Atomic(order, 'f', size / 2));
      h5::Handle complex(H5Tcreate(H5T_COMPOUND, size));
      H5Tinsert(complex.get(), "r", 0, part.get());
      H5Tinsert(complex.get(), "i", size / 2, part.get());
      return complex;
    }
    case 'b': {
      if (size != 1) break;
      h5::Handle boolean(H5Tenum_create(H5T_NATIVE_INT8));
      signed char f = 0, t = 1;
      H5Tenum_insert(boolean.get(), "FALSE", &f);
      H5Tenum_insert(boolean.get(), "TRUE", &t);
      return boolean;
    }
    case 'S': {
      if (size == 0) break;
      h5::Handle s(H5Tcopy(H5T_C_S1));
      H5Tset_size(s.get(), size);
      H5Tset_strpad(s.get(), H5T_STR_NULLPAD);
      H5Tset_cset(s.get(), H5T_CSET_ASCII);
      return s;
    }
    case 'V': {
      if (size == 0) break;
      return h5::Handle(H5Tcreate(H5T_OPAQUE, size));
    }
  }
  if (base < 0) return Status::InvalidArgument("no HDF5 type for this NumPy type");
  return h5::Handle(H5Tcopy(base));
}

// A tiny reader of NumPy descr text: [('x', '<i4'), ('y', '<f8', (3,))].
class DescrParser {
 public:
  explicit DescrParser(const std::string& text) : s_(text) {}

  Result<h5::Handle> ParseCompound() {
    struct Field {
      std::string name;
      h5::Handle type;
      size_t size;
    };
    std::vector<Field> fields;
    if (!Eat('[')) return Bad();
    while (!Peek(']')) {
      if (!Eat('(')) return Bad();
      std::string name;
      if (!String(&name) || !Eat(',')) return Bad();
      h5::Handle type;
      if (Peek('[')) {
        VH5_ASSIGN_OR_RETURN(type, ParseCompound());
      } else {
        std::string spelling;
        if (!String(&spelling)) return Bad();
        VH5_ASSIGN_OR_RETURN(type, TypeFromNumpy(spelling));
      }
      if (Eat(',')) {  // a subarray shape follows
        std::vector<hsize_t> dims;
        if (!Eat('(')) return Bad();
        while (!Peek(')')) {
          size_t value;
          if (!Number(&value)) return Bad();
          dims.push_back(value);
          Eat(',');
        }
        Eat(')');
        type = h5::Handle(
            H5Tarray_create2(type.get(), static_cast<unsigned>(dims.size()), dims.data()));
      }
      if (!Eat(')')) return Bad();
      size_t size = H5Tget_size(type.get());
      fields.push_back({name, std::move(type), size});
      Eat(',');
    }
    Eat(']');
    size_t total = 0;
    for (const Field& f : fields) total += f.size;
    if (total == 0) return Bad();
    h5::Handle compound(H5Tcreate(H5T_COMPOUND, total));
    size_t offset = 0;
    for (const Field& f : fields) {
      // NumPy writes padding as unnamed void fields; HDF5 leaves the gap.
      if (!f.name.empty() && H5Tinsert(compound.get(), f.name.c_str(), offset, f.type.get()) < 0)
        return h5::Error("cannot build compound type", Status::Code::kInvalidArgument);
      offset += f.size;
    }
    return compound;
  }
  bool AtEnd() {
    Skip();
    return pos_ == s_.size();
  }

 private:
  Status Bad() const { return Status::InvalidArgument("bad compound dtype: " + s_); }
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Peek(char c) {
    Skip();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool String(std::string* out) {
    Skip();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return false;
    char quote = s_[pos_++];
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out->push_back(s_[pos_++]);
    }
    return pos_++ < s_.size();
  }
  bool Number(size_t* out) {
    Skip();
    size_t start = pos_;
    *out = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_])))
      *out = *out * 10 + static_cast<size_t>(s_[pos_++] - '0');
    return pos_ > start;
  }

  std::string s_;
  size_t pos_ = 0;
};

}  // namespace

Result<h5::Handle> TypeFromNumpy(const std::string& numpy) {
  if (numpy == "vlen-str" || numpy == "vlen-ascii") {
    h5::Handle s(H5Tcopy(H5T_C_S1));
    H5Tset_size(s.get(), H5T_VARIABLE);
    H5Tset_cset(s.get(), numpy == "vlen-str" ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    return s;
  }
  if (!numpy.empty() && numpy[0] == '[') {
    DescrParser parser(numpy);
    VH5_ASSIGN_OR_RETURN(h5::Handle compound, parser.ParseCompound());
    if (!parser.AtEnd()) return Status::InvalidArgument("bad compound dtype: " + numpy);
    return compound;
  }
  if (numpy.size() < 3 ||
      (numpy[0] != '<' && numpy[0] != '>' && numpy[0] != '|' && numpy[0] != '='))
    return Status::InvalidArgument("not a NumPy dtype: " + numpy);
  size_t size = 0;
  for (size_t i = 2; i < numpy.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(numpy[i])))
      return Status::InvalidArgument("not a NumPy dtype: " + numpy);
    size = size * 10 + static_cast<size_t>(numpy[i] - '0');
    if (size > (1u << 30)) return Status::InvalidArgument("item size too large: " + numpy);
  }
  char order = numpy[0] == '=' ? '<' : numpy[0];
  Result<h5::Handle> type = Atomic(order, numpy[1], size);
  if (!type.ok()) return Status::InvalidArgument("no HDF5 type for NumPy dtype " + numpy);
  return type;
}

}  // namespace vh5
