#include "hdf5/h5_handle.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

namespace vh5::h5 {

void Handle::Reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      H5Idec_ref(id_);
      break;
  }
  id_ = H5I_INVALID_HID;
}

namespace {

herr_t CollectMessage(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  // The innermost entry (n == 0) names the real cause; outer ones repeat it.
  if (n == 0 && err->desc != nullptr && *err->desc != '\0') *out = err->desc;
  return 0;
}

}  // namespace

std::string TakeErrorStack() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, CollectMessage, &message);
  H5Eclear2(H5E_DEFAULT);
  return message;
}

Status Error(std::string_view what, Status::Code code) {
  std::string msg(what);
  std::string stack = TakeErrorStack();
  if (!stack.empty()) msg += " (" + stack + ")";
  switch (code) {
    case Status::Code::kNotFound:
      return Status::NotFound(msg);
    case Status::Code::kCorruption:
      return Status::Corruption(msg);
    case Status::Code::kUnsupported:
      return Status::Unsupported(msg);
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case Status::Code::kNoSpace:
      return Status::NoSpace(msg);
    default:
      return Status::IOError(msg);
  }
}

void SilenceAutomaticErrorPrinting() {
  // A thread-safe HDF5 keeps one error stack, with its own printing switch,
  // per thread: every engine entry point calls this in its own thread.
  thread_local bool silenced = false;
  if (silenced) return;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  silenced = true;
}

Handle IntermediateGroups() {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  return lcpl;
}

Status MapVirtualBox(hid_t dcpl, hid_t space, const std::vector<uint64_t>& vstart,
                     const std::vector<uint64_t>& count, const std::string& source,
                     hid_t source_space, const std::vector<uint64_t>& sstart) {
  size_t rank = count.size();
  if (rank > H5S_MAX_RANK || vstart.size() != rank || sstart.size() != rank)
    return Status::InvalidArgument("a box of rank " + std::to_string(rank));
  hsize_t v[H5S_MAX_RANK], s[H5S_MAX_RANK], block[H5S_MAX_RANK], ones[H5S_MAX_RANK];
  for (size_t d = 0; d < rank; ++d) {
    v[d] = vstart[d];
    s[d] = sstart[d];
    block[d] = count[d];
    ones[d] = 1;
  }
  Handle vspace(H5Scopy(space));
  Handle sspace(H5Scopy(source_space));
  if (!vspace || !sspace ||
      H5Sselect_hyperslab(vspace.get(), H5S_SELECT_SET, v, nullptr, ones, block) < 0 ||
      H5Sselect_hyperslab(sspace.get(), H5S_SELECT_SET, s, nullptr, ones, block) < 0 ||
      H5Pset_virtual(dcpl, vspace.get(), ".", source.c_str(), sspace.get()) < 0)
    return Error("cannot map a chunk");
  return Status::OK();
}

void SetVirtualLayoutWithoutMappings(hid_t dcpl) {
  H5Pset_layout(dcpl, H5D_VIRTUAL);
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_LATE);  // what H5Pset_virtual sets
}

Result<Fd> OpenReadOnlyDescriptor(hid_t file) {
  ssize_t len = H5Fget_name(file, nullptr, 0);
  if (len < 0) return Error("cannot name the file");
  std::string name(static_cast<size_t>(len) + 1, '\0');
  H5Fget_name(file, name.data(), name.size());
  name.resize(static_cast<size_t>(len));
  Fd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IOError(name + ": " + std::strerror(errno));
  return fd;
}

bool LinkExists(hid_t loc, const std::string& path) {
  // H5Lexists fails on a missing intermediate group, so walk each prefix.
  if (path.empty() || path == "/") return true;
  size_t pos = path[0] == '/' ? 1 : 0;
  while (true) {
    size_t slash = path.find('/', pos);
    std::string prefix = path.substr(0, slash);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

bool AttributeExists(hid_t obj, const std::string& name) {
  htri_t r = H5Aexists(obj, name.c_str());
  if (r < 0) H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

Result<std::string> ReadStringAttribute(hid_t obj, const std::string& name) {
  if (!AttributeExists(obj, name)) return Status::NotFound("no attribute " + name);
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr) return Error("cannot open attribute " + name);
  Handle type(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_STRING)
    return Status::Corruption("attribute " + name + " is not a string");
  Handle space(H5Aget_space(attr.get()));
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    return Status::Corruption("attribute " + name + " is not a scalar");
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* value = nullptr;
    if (H5Aread(attr.get(), mem.get(), &value) < 0) return Error("cannot read attribute " + name);
    std::string out = value ? value : "";
    H5free_memory(value);
    return out;
  }
  size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0)
    return Error("cannot read attribute " + name);
  size_t end = out.find('\0');
  if (end != std::string::npos) out.resize(end);
  // Space-padded strings (Fortran style) carry their padding as spaces.
  if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) {
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return out;
}

Result<int64_t> ReadIntAttribute(hid_t obj, const std::string& name) {
  if (!AttributeExists(obj, name)) return Status::NotFound("no attribute " + name);
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr) return Error("cannot open attribute " + name);
  Handle type(H5Aget_type(attr.get()));
  H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_ENUM)
    return Status::Corruption("attribute " + name + " is not an integer");
  Handle space(H5Aget_space(attr.get()));
  if (H5Sget_simple_extent_npoints(space.get()) != 1)
    return Status::Corruption("attribute " + name + " is not a scalar");
  int64_t value = 0;
  if (cls == H5T_ENUM) {
    Handle base(H5Tget_super(type.get()));
    if (H5Aread(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
      // Enum to integer conversion is not defined; read the base type instead.
      H5Eclear2(H5E_DEFAULT);
      char buf[16] = {};
      if (H5Tget_size(type.get()) > sizeof buf) return Status::Corruption("enum too wide");
      if (H5Aread(attr.get(), type.get(), buf) < 0) return Error("cannot read attribute " + name);
      if (H5Tconvert(base.get(), H5T_NATIVE_INT64, 1, buf, nullptr, H5P_DEFAULT) < 0)
        return Error("cannot convert attribute " + name);
      std::memcpy(&value, buf, sizeof value);
    }
    return value;
  }
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &value) < 0)
    return Error("cannot read attribute " + name);
  return value;
}

namespace {

Result<std::vector<uint64_t>> ReadUIntArray(const Handle& attr, const std::string& name) {
  if (!attr) return Error("cannot open attribute " + name);
  Handle type(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_INTEGER)
    return Status::Corruption("attribute " + name + " is not an integer array");
  Handle space(H5Aget_space(attr.get()));
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0 || n > 64) return Status::Corruption("attribute " + name + " has a bad size");
  std::vector<uint64_t> values(static_cast<size_t>(n));
  if (n > 0 && H5Aread(attr.get(), H5T_NATIVE_UINT64, values.data()) < 0)
    return Error("cannot read attribute " + name);
  return values;
}

}  // namespace

Result<std::vector<uint64_t>> ReadUIntArrayAttribute(hid_t obj, const std::string& name) {
  if (!AttributeExists(obj, name)) return Status::NotFound("no attribute " + name);
  return ReadUIntArray(Handle(H5Aopen(obj, name.c_str(), H5P_DEFAULT)), name);
}

bool AttributeExistsByName(hid_t loc, const std::string& path, const std::string& name) {
  htri_t exists = H5Aexists_by_name(loc, path.c_str(), name.c_str(), H5P_DEFAULT);
  if (exists < 0) TakeErrorStack();
  return exists > 0;
}

Result<std::vector<uint64_t>> ReadUIntArrayAttributeByName(hid_t loc, const std::string& path,
                                                           const std::string& name) {
  if (!AttributeExistsByName(loc, path, name)) return Status::NotFound("no attribute " + name);
  return ReadUIntArray(
      Handle(H5Aopen_by_name(loc, path.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT)), name);
}

}  // namespace vh5::h5
