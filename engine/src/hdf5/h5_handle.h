// RAII over HDF5 identifiers, and HDF5 errors turned into Status.
//
// Every hid_t the engine opens is owned by exactly one H5Handle; the
// destructor closes it with the close call matching its type. Raw H5* calls
// stay in the engine's .cc files; nothing outside engine/ sees an hid_t.
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"
#include "vh5/status.h"

namespace vh5::h5 {

class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { Reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.Release()) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      Reset();
      id_ = other.Release();
    }
    return *this;
  }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }
  hid_t Release() {
    hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  // Closes with the close function for the id's type. Never throws.
  void Reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// The innermost messages of the current thread's HDF5 error stack, joined
// with "; ", then cleared. Empty when the stack is empty.
std::string TakeErrorStack();

// A Status for a failed HDF5 call: `what` plus the HDF5 error stack.
Status Error(std::string_view what, Status::Code code = Status::Code::kIOError);

// Turns off HDF5's automatic printing of error stacks for the calling
// thread; errors reach users only through Status messages.
void SilenceAutomaticErrorPrinting();

// Registers the LZF filter (id 32000, as h5py writes it) with liblzf, once per process.
void RegisterLzfFilter();

// Link creation properties that create missing intermediate groups.
Handle IntermediateGroups();

// Virtual dataset creation properties (`dcpl`): maps the box at `vstart`
// of extents `count` in the virtual dataset of dataspace `space` onto the
// box at `sstart` of the same extents in dataset `source` of this file,
// whose dataspace is `source_space`.
Status MapVirtualBox(hid_t dcpl, hid_t space, const std::vector<uint64_t>& vstart,
                     const std::vector<uint64_t>& count, const std::string& source,
                     hid_t source_space, const std::vector<uint64_t>& sstart);
// The same layout with no mapping at all (every element the fill value),
// as H5Pset_virtual leaves it but for the mappings.
void SetVirtualLayoutWithoutMappings(hid_t dcpl);

// A read-only descriptor of the file HDF5 has open as `file`, opened anew by
// its name.
Result<Fd> OpenReadOnlyDescriptor(hid_t file);

bool LinkExists(hid_t loc, const std::string& path);
bool AttributeExists(hid_t obj, const std::string& name);
// Reads a scalar string attribute (fixed or variable length, any charset).
Result<std::string> ReadStringAttribute(hid_t obj, const std::string& name);
// Reads a scalar integer attribute (any integer width or bool enum).
Result<int64_t> ReadIntAttribute(hid_t obj, const std::string& name);
// Reads an integer array attribute (e.g. "chunks").
Result<std::vector<uint64_t>> ReadUIntArrayAttribute(hid_t obj, const std::string& name);
// The same two for the object at `path` below `loc`, without opening the
// object (opening a virtual dataset decodes all its mappings).
bool AttributeExistsByName(hid_t loc, const std::string& path, const std::string& name);
Result<std::vector<uint64_t>> ReadUIntArrayAttributeByName(hid_t loc, const std::string& path,
                                                           const std::string& name);

}  // namespace vh5::h5
