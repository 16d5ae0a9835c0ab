#include "format/file_bytes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "hdf5/h5_handle.h"
#include "util/fd.h"

namespace vh5 {

Result<FileBytes> FileBytes::Geometry(hid_t file) {
  FileBytes bytes;
  h5::Handle fcpl(H5Fget_create_plist(file));
  hsize_t userblock = 0;
  if (!fcpl || H5Pget_sizes(fcpl.get(), &bytes.addr_size_, &bytes.len_size_) < 0 ||
      H5Pget_userblock(fcpl.get(), &userblock) < 0)
    return h5::Error("cannot read the file's address sizes");
  if (bytes.addr_size_ < 2 || bytes.addr_size_ > 8 || bytes.len_size_ < 2 || bytes.len_size_ > 8)
    return Status::Unsupported("address or length fields of " + std::to_string(bytes.addr_size_) +
                               " and " + std::to_string(bytes.len_size_) + " bytes");
  bytes.base_ = userblock;
  return bytes;
}

Result<FileBytes> FileBytes::Of(hid_t file, int fd) {
  VH5_ASSIGN_OR_RETURN(FileBytes bytes, Geometry(file));
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(std::string("fstat: ") + std::strerror(errno));
  bytes.fd_ = fd;
  bytes.file_size_ = static_cast<uint64_t>(st.st_size);
  return bytes;
}

Result<FileBytes> FileBytes::Of(hid_t file, const ByteSource* view) {
  VH5_ASSIGN_OR_RETURN(FileBytes bytes, Geometry(file));
  bytes.view_ = view;
  return bytes;
}

uint64_t FileBytes::file_size() const { return view_ ? view_->size() : file_size_; }

Status FileBytes::Read(uint64_t address, uint64_t len, std::vector<uint8_t>* out) const {
  uint64_t size = file_size();
  // Checked before the buffer grows to a corrupt length.
  if (address > size || len > size - address)
    return Status::Corruption("address " + std::to_string(address) + " + " + std::to_string(len) +
                              " lies past the end of the file");
  out->resize(static_cast<size_t>(len));
  return Read(address, std::span<uint8_t>(*out));
}

Status FileBytes::Read(uint64_t address, std::span<uint8_t> out) const {
  uint64_t offset = base_ + address;
  uint64_t size = file_size();
  uint64_t len = out.size();
  if (address > size || offset < address || offset > size || len > size - offset)
    return Status::Corruption("address " + std::to_string(address) + " + " + std::to_string(len) +
                              " lies past the end of the file");
  ssize_t n;
  if (view_) {
    Result<size_t> read = view_->Read(offset, out.size(), reinterpret_cast<char*>(out.data()));
    if (!read.ok()) return read.status();
    n = static_cast<ssize_t>(*read);
  } else {
    n = PreadAll(fd_, reinterpret_cast<char*>(out.data()), out.size(), offset);
  }
  if (n < 0) return Status::IOError(std::string("pread: ") + std::strerror(errno));
  if (static_cast<uint64_t>(n) != len)
    return Status::Corruption("the file ends inside a structure it points to");
  return Status::OK();
}

}  // namespace vh5
