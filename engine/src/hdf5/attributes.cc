#include "hdf5/attributes.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "hdf5/dtype.h"
#include "hdf5/h5_handle.h"
#include "util/py_literal.h"

namespace vh5 {
namespace {

struct Collected {
  std::vector<std::string> names;
};

herr_t CollectName(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<Collected*>(data)->names.emplace_back(name);
  return 0;
}

// Nested Python list of `items` shaped by `dims`, starting at items[*next].
std::string NestedList(const std::vector<std::string>& items, const std::vector<hsize_t>& dims,
                       size_t depth, size_t* next) {
  if (depth == dims.size()) return items[(*next)++];
  std::string out = "[";
  for (hsize_t i = 0; i < dims[depth]; ++i) {
    if (i) out += ", ";
    out += NestedList(items, dims, depth + 1, next);
  }
  return out + "]";
}

// One element of a string type as plain text (fixed strings lose their padding).
std::string StringElement(hid_t type, const char* bytes) {
  if (H5Tis_variable_str(type) > 0) {
    const char* s;
    std::memcpy(&s, bytes, sizeof s);
    return s ? s : "";
  }
  std::string_view raw(bytes, H5Tget_size(type));
  std::string out(raw.substr(0, raw.find('\0')));
  if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
    while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Result<Attribute> ReadOne(const h5::Handle& attr, const std::string& name) {
  if (!attr) return h5::Error("cannot open attribute " + name);
  h5::Handle type(H5Aget_type(attr.get()));
  h5::Handle space(H5Aget_space(attr.get()));
  if (!type || !space) return h5::Error("cannot inspect attribute " + name);

  Attribute out;
  out.name = name;
  VH5_ASSIGN_OR_RETURN(DType dtype, DescribeType(type.get()));
  bool is_string = H5Tget_class(type.get()) == H5T_STRING;
  bool vlen = is_string && H5Tis_variable_str(type.get()) > 0;
  bool utf8 = is_string && H5Tget_cset(type.get()) == H5T_CSET_UTF8;
  // Variable-length ASCII is spelled apart from h5py's str (vlen UTF-8).
  std::string spelling = vlen && !utf8 ? "vlen-ascii" : dtype.numpy;

  H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  if (space_class == H5S_NULL) {
    out.type = "empty:" + spelling;
    return out;
  }
  int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) return h5::Error("cannot size attribute " + name);

  // Variable-length strings are read with a memory type of the same charset.
  h5::Handle mem_type;
  if (vlen) {
    mem_type = h5::Handle(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem_type.get(), H5T_VARIABLE);
    H5Tset_cset(mem_type.get(), H5Tget_cset(type.get()));
  } else {
    mem_type = h5::Handle(H5Tcopy(type.get()));
  }
  size_t item = H5Tget_size(mem_type.get());
  std::vector<char> buf(item * static_cast<size_t>(count) + 1);
  if (count > 0 && H5Aread(attr.get(), mem_type.get(), buf.data()) < 0)
    return h5::Error("cannot read attribute " + name);

  std::vector<std::string> items;
  items.reserve(static_cast<size_t>(count));
  Status status;
  for (hssize_t i = 0; i < count; ++i) {
    const char* element = buf.data() + static_cast<size_t>(i) * item;
    if (is_string) {
      std::string text = StringElement(mem_type.get(), element);
      items.push_back(rank == 0 ? text : py::StrRepr(text));
    } else {
      Result<std::string> text = ElementToText(type.get(), element);
      if (!text.ok()) {
        status = text.status();
        break;
      }
      items.push_back(*text);
    }
  }
  if (vlen && count > 0) {
    h5::Handle reclaim_space(
        H5Screate_simple(1, std::vector<hsize_t>{static_cast<hsize_t>(count)}.data(), nullptr));
    H5Dvlen_reclaim(mem_type.get(), reclaim_space.get(), H5P_DEFAULT, buf.data());
  }
  VH5_RETURN_IF_ERROR(status.WithContext("attribute " + name));

  if (rank == 0) {
    out.text = items.empty() ? "" : items[0];
    out.type = (vlen && utf8) ? "" : spelling;
  } else {
    size_t next = 0;
    out.text = NestedList(items, dims, 0, &next);
    out.type = py::TupleRepr(dims) + spelling;
  }
  return out;
}

}  // namespace

Result<Attributes> ReadAttributes(hid_t obj, std::initializer_list<const char*> skip) {
  Collected collected;
  hsize_t idx = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectName, &collected) < 0)
    return h5::Error("cannot list attributes");
  Attributes out;
  for (const std::string& name : collected.names) {
    bool skipped = false;
    for (const char* s : skip) skipped = skipped || name == s;
    if (skipped) continue;
    h5::Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
    VH5_ASSIGN_OR_RETURN(Attribute value, ReadOne(attr, name));
    out.push_back(std::move(value));
  }
  return out;
}

Result<Attributes> ReadAttributesByName(hid_t loc, const std::string& path,
                                        std::initializer_list<const char*> skip) {
  H5O_info_t info;
  if (H5Oget_info_by_name2(loc, path.c_str(), &info, H5O_INFO_NUM_ATTRS, H5P_DEFAULT) < 0)
    return h5::Error("cannot count attributes");
  Attributes out;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    // By index in name order, as H5Aiterate2 lists them, from the object header alone.
    h5::Handle attr(
        H5Aopen_by_idx(loc, path.c_str(), H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT));
    if (!attr) return h5::Error("cannot open attribute " + std::to_string(i));
    ssize_t len = H5Aget_name(attr.get(), 0, nullptr);
    if (len < 0) return h5::Error("cannot name attribute " + std::to_string(i));
    std::string name(static_cast<size_t>(len) + 1, '\0');
    H5Aget_name(attr.get(), name.size(), name.data());
    name.resize(static_cast<size_t>(len));
    bool skipped = false;
    for (const char* s : skip) skipped = skipped || name == s;
    if (skipped) continue;
    VH5_ASSIGN_OR_RETURN(Attribute value, ReadOne(attr, name));
    out.push_back(std::move(value));
  }
  return out;
}

Status CopyAttributes(hid_t from, hid_t to) {
  Collected collected;
  hsize_t idx = 0;
  if (H5Aiterate2(from, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectName, &collected) < 0)
    return h5::Error("cannot list attributes");
  for (const std::string& name : collected.names) {
    h5::Handle attr(H5Aopen(from, name.c_str(), H5P_DEFAULT));
    if (!attr) return h5::Error("cannot open attribute " + name);
    h5::Handle type(H5Aget_type(attr.get()));
    h5::Handle space(H5Aget_space(attr.get()));
    if (!type || !space) return h5::Error("cannot inspect attribute " + name);
    hssize_t count = H5Sget_simple_extent_npoints(space.get());
    size_t item = H5Tget_size(type.get());
    std::vector<char> buf(item * static_cast<size_t>(std::max<hssize_t>(count, 0)) + 1);
    if (count > 0 && H5Aread(attr.get(), type.get(), buf.data()) < 0)
      return h5::Error("cannot read attribute " + name);
    if (H5Aexists(to, name.c_str()) > 0) H5Adelete(to, name.c_str());
    h5::Handle copy(
        H5Acreate2(to, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
    herr_t written = copy && count > 0 ? H5Awrite(copy.get(), type.get(), buf.data()) : 0;
    // Variable-length values were read into memory HDF5 allocated.
    bool variable = H5Tis_variable_str(type.get()) > 0 || H5Tdetect_class(type.get(), H5T_VLEN) > 0;
    if (count > 0 && variable) H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, buf.data());
    if (!copy || written < 0) return h5::Error("cannot write attribute " + name);
  }
  return Status::OK();
}

}  // namespace vh5
