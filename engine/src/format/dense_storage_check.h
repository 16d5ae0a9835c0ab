// Checks the headers of "dense" link or attribute storage (libver=latest
// files): the fractal heap header ("FRHP") and the v2 B-tree headers
// ("BTHD") a link info or attribute info message points at. HDF5 1.10.8
// reads them with little checking (a bad address crashed it in the
// fuzzer); the engine checks that each is inside the file, whole, of the
// version it knows, with its checksum right, before HDF5 is let near them.
#pragma once

#include "format/file_bytes.h"
#include "format/message_check.h"
#include "vh5/status.h"

namespace vh5 {

Status CheckDenseStorage(const FileBytes& file, const DenseStorage& dense);

}  // namespace vh5
