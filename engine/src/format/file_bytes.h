// Reads of an HDF5 file's own structures with pread(2), outside HDF5.
//
// Addresses are HDF5 file addresses: relative to the superblock, which sits
// after the user block. Every read is checked against the file's size, so a
// corrupt address or length gives Corruption, never a read past the end.
//
// Thread safety: Read may be called concurrently (pread(2) has no offset).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <span>
#include <vector>

#include "vh5/byte_source.h"
#include "vh5/status.h"

namespace vh5 {

class FileBytes {
 public:
  // The geometry of `file` (address and length sizes, user block) read
  // through HDF5, and the size of `fd`, a descriptor of the same file.
  // Unsupported for address or length fields wider than 8 bytes.
  static Result<FileBytes> Of(hid_t file, int fd);
  // The same for `file` as `view` shows it (a transaction's view, journal.h:
  // what the transaction wrote so far included, also once `file` is
  // closed). `view` must outlive this.
  static Result<FileBytes> Of(hid_t file, const ByteSource* view);

  // `len` bytes at file address `address` into `out`.
  Status Read(uint64_t address, uint64_t len, std::vector<uint8_t>* out) const;
  // `out.size()` bytes at file address `address`.
  Status Read(uint64_t address, std::span<uint8_t> out) const;

  size_t addr_size() const { return addr_size_; }  // "size of offsets"
  size_t len_size() const { return len_size_; }    // "size of lengths"
  uint64_t file_size() const;
  // The descriptor reads go through; -1 when they go through a view.
  int fd() const { return view_ ? -1 : fd_; }
  // Where address 0 lies in the file: after the user block.
  uint64_t base() const { return base_; }
  // The undefined address (all bits set in addr_size() bytes).
  uint64_t undefined_address() const { return ~uint64_t{0} >> (64 - 8 * addr_size_); }

 private:
  // The sizes and the user block of `file`.
  static Result<FileBytes> Geometry(hid_t file);

  int fd_ = -1;
  const ByteSource* view_ = nullptr;  // set: reads go through it
  uint64_t file_size_ = 0;
  uint64_t base_ = 0;  // user block size
  size_t addr_size_ = 8;
  size_t len_size_ = 8;
};

}  // namespace vh5
