#include "file_bytes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "fd.h"
#include "h5_handle.h"

namespace vh5 {

Result<FileBytes> FileBytes::Of(hid_t file, int fd) {
  FileBytes bytes;
  h5::Handle fcpl(H5Fget_create_plist(file));
  hsize_t userblock = 0;
  if (!fcpl || H5Pget_sizes(fcpl.get(), &bytes.addr_size_, &bytes.len_size_) < 0 ||
      H5Pget_userblock(fcpl.get(), &userblock) < 0)
    return h5::Error("cannot read the file's address sizes");
  if (bytes.addr_size_ < 2 || bytes.addr_size_ > 8 || bytes.len_size_ < 2 || bytes.len_size_ > 8)
    return Status::Unsupported("address or length fields of " + std::to_string(bytes.addr_size_) +
                               " and " + std::to_string(bytes.len_size_) + " bytes");
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(std::string("fstat: ") + std::strerror(errno));
  bytes.fd_ = fd;
  bytes.file_size_ = static_cast<uint64_t>(st.st_size);
  bytes.base_ = userblock;
  return bytes;
}

Status FileBytes::Read(uint64_t address, uint64_t len, std::vector<uint8_t>* out) const {
  uint64_t offset = base_ + address;
  if (address > file_size_ || offset < address || offset > file_size_ || len > file_size_ - offset)
    return Status::Corruption("address " + std::to_string(address) + " + " + std::to_string(len) +
                              " lies past the end of the file");
  out->resize(static_cast<size_t>(len));
  ssize_t n = PreadAll(fd_, reinterpret_cast<char*>(out->data()), out->size(), offset);
  if (n < 0) return Status::IOError(std::string("pread: ") + std::strerror(errno));
  if (static_cast<uint64_t>(n) != len)
    return Status::Corruption("the file ends inside a structure it points to");
  return Status::OK();
}

}  // namespace vh5
