// Writing a vh5::Attribute (text + type, see metadata.h) as an HDF5 attribute.
// The inverse of attributes.h: what ReadAttributes shows, WriteAttribute
// stores again with the same HDF5 type and value.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "hdf5/h5_handle.h"
#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

// Values parsed from their texts into a buffer of `mem_type`, which HDF5
// converts to the file type on writing.
struct EncodedElements {
  std::vector<char> buf;
  std::vector<std::string> strings;
  std::vector<const char*> pointers;  // variable-length strings
  h5::Handle mem_type;
  const void* data() const {
    return pointers.empty() ? static_cast<const void*>(buf.data())
                            : static_cast<const void*>(pointers.data());
  }
};

// Parses `items` (Python literal texts; strings quoted when `quoted_strings`)
// as elements of file type `type` (NumPy spelling `spelling`).
Status EncodeElements(hid_t type, const std::string& spelling,
                      const std::vector<std::string>& items, bool quoted_strings,
                      EncodedElements* out);

// One element of NumPy type `numpy`, parsed from Python literal `text`, in
// the stored layout ("-1.5" as "<f4" gives the four bytes of -1.5f).
Result<std::string> ParseElement(const std::string& numpy, const std::string& text);

// Whether `type` (user.vh5.h5type's spelling: "<f8", "(3,)<i8",
// "empty:<f8", ...) names a type an attribute can have, whatever its value;
// InvalidArgument when not.
Status CheckAttributeType(const std::string& type);

// Creates or replaces attribute `attr.name` on `obj`. InvalidArgument when
// the text does not parse as the type.
Status WriteAttribute(hid_t obj, const Attribute& attr);

}  // namespace vh5
