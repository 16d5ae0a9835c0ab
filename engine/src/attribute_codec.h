// Writing a vh5::Attribute (text + type, see metadata.h) as an HDF5 attribute.
// The inverse of attributes.h: what ReadAttributes shows, WriteAttribute
// stores again with the same HDF5 type and value.
#pragma once

#include <hdf5.h>

#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

// Creates or replaces attribute `attr.name` on `obj`. InvalidArgument when
// the text does not parse as the type.
Status WriteAttribute(hid_t obj, const Attribute& attr);

}  // namespace vh5
