// libFuzzer target: each input is a whole file, written to a temp file and
// read through the engine's open and read path (read_everything.h). A crash,
// a sanitizer report, a hang or a broken promise is a finding; a Status is not.
//
// Built with -DVH5_FUZZ=ON (clang); scripts/fuzz builds it, makes a seed
// corpus at run time and runs it.
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "read_everything.h"

namespace {

std::string g_path;

void WriteInput(const uint8_t* data, size_t size) {
  // A fresh file each time: nothing of the previous input survives.
  ::unlink(g_path.c_str());
  int fd = ::open(g_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(g_path.c_str());
    std::abort();
  }
  for (size_t done = 0; done < size;) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) {
      std::perror("write");
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/vh5-fuzz-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  g_path = dir + "/input.h5";
  // Errors reach the fuzzer as Status values, not as HDF5's printed stacks.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::atexit([] {
    ::unlink(g_path.c_str());
    ::rmdir(g_path.substr(0, g_path.rfind('/')).c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  WriteInput(data, size);
  vh5fuzz::ReadEverything(g_path);
  return 0;
}
