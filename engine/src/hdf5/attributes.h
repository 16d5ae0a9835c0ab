// Reading an HDF5 object's attributes into vh5::Attribute values.
#pragma once

#include <hdf5.h>

#include <initializer_list>
#include <string>

#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

// Every attribute of `obj` in name order, except those named in `skip`
// (the format's own bookkeeping, such as "raw_data" and "chunks").
Result<Attributes> ReadAttributes(hid_t obj, std::initializer_list<const char*> skip = {});

// The same for the object at `path` below `loc`, read from its header
// without opening the object: H5Oopen, H5Aiterate2 and H5Aiterate_by_name
// open a dataset, which decodes its whole layout (every virtual mapping).
// HDF5 decodes the object's header: in a file that may be hostile, the
// caller checks the path first (GuardPath, object_check.h).
Result<Attributes> ReadAttributesByName(hid_t loc, const std::string& path,
                                        std::initializer_list<const char*> skip = {});

// Copies every attribute of `from` onto `to` with its stored type, shape
// and bytes, none of them parsed (variable-length values included).
Status CopyAttributes(hid_t from, hid_t to);

}  // namespace vh5
