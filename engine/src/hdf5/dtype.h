// HDF5 datatypes in NumPy's spelling, both ways.
#pragma once

#include <hdf5.h>

#include <string>

#include "hdf5/h5_handle.h"
#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

// The NumPy spelling of a file datatype, as h5py maps it: "<f8", "|b1" (h5py's
// bool enum), "<c16" (h5py's complex compound r/i), "|S8", NumPy's descr for
// compounds, "vlen-str" for variable-length strings.
Result<DType> DescribeType(hid_t type);

// The HDF5 file datatype for a NumPy spelling, as h5py would create it.
Result<h5::Handle> TypeFromNumpy(const std::string& numpy);

// The text of one element in Python literal form ("0.5", "7", "True",
// "(1+2j)", "b'ab'", "(1, 2.5)" for a compound). `bytes` holds the element in
// the layout of `type`.
Result<std::string> ElementToText(hid_t type, const char* bytes);

}  // namespace vh5
