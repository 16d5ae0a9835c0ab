// Scalar string and integer attributes read from an object header's bytes,
// to the values HDF5 gives (h5::ReadStringAttribute, h5::ReadIntAttribute):
// for walks over thousands of version groups, where opening each through
// HDF5 to read three attributes costs ~40 us.
//
// Only what is decoded exactly here is answered: compact attributes of an
// unshared type, a scalar (or one-element) dataspace, fixed-length and
// variable-length strings, integers and enums over them that fill their
// bytes. Anything else is Unsupported, for the caller to read through HDF5.
//
// Thread safety: none; one per walk.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "format/file_bytes.h"
#include "format/heap_objects.h"
#include "format/object_header.h"
#include "vh5/status.h"

namespace vh5 {

class AttributeValues {
 public:
  // `heap` reads variable-length strings; both must outlive this.
  AttributeValues(const FileBytes& file, GlobalHeapObjects* heap) : file_(file), heap_(heap) {}

  // Whether `header` has an attribute `name` (Unsupported when it may lie in
  // dense storage, which is not read here).
  Result<bool> Has(const ObjectHeader& header, std::string_view name);
  // The attribute `name` of `header` as text: up to its first NUL, a
  // space-padded string's trailing spaces dropped. NotFound when absent.
  Result<std::string> String(const ObjectHeader& header, std::string_view name);
  // Whether the integer (or enum) attribute `name` is not zero. NotFound
  // when absent.
  Result<bool> NonZero(const ObjectHeader& header, std::string_view name);

 private:
  // The attribute message named `name`, nullptr when none.
  Result<const HeaderMessage*> Find(const ObjectHeader& header, std::string_view name);

  const FileBytes& file_;
  GlobalHeapObjects* heap_;
};

}  // namespace vh5
