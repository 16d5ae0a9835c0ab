#include "journal/journal_vfd.h"

#include "vh5/mutex.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vh5 {
namespace {

// HDF5 may keep a file open past its transaction (a close that failed is
// retried at exit): the driver holds its transaction's id, and finds it
// gone (Transaction::Find) rather than dangling.
struct DriverInfo {
  uint64_t txn;  // 0: read-only, no transaction
};

// HDF5 appends nothing to a driver's file struct; `pub` must come first.
struct JournalFile {
  H5FD_t pub;
  uint64_t txn;  // the transaction's id; 0: read-only, straight from `fd`
  int fd;
  haddr_t eof;  // read-only files only
  haddr_t eoa;
  uint64_t serial;  // every open a file of its own (see Compare)
};

constexpr haddr_t kMaxAddr = (haddr_t{1} << 62) - 1;

herr_t Fail(const char* function, hid_t minor, const Status& status) {
  H5Epush2(H5E_DEFAULT, __FILE__, function, __LINE__, H5E_ERR_CLS, H5E_VFL, minor, "%s",
           status.ToString().c_str());
  return -1;
}

void* InfoCopy(const void* info) {
  auto* copy = static_cast<DriverInfo*>(std::malloc(sizeof(DriverInfo)));
  if (copy != nullptr) std::memcpy(copy, info, sizeof(DriverInfo));
  return copy;
}

herr_t InfoFree(void* info) {
  std::free(info);
  return 0;
}

void* InfoGet(H5FD_t* file) {
  DriverInfo info{reinterpret_cast<JournalFile*>(file)->txn};
  return InfoCopy(&info);
}

H5FD_t* Open(const char* name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
  const auto* info = static_cast<const DriverInfo*>(H5Pget_driver_info(fapl));
  static std::atomic<uint64_t> next_serial{1};
  if (info == nullptr || info->txn == 0) {
    if (flags & (H5F_ACC_RDWR | H5F_ACC_CREAT | H5F_ACC_TRUNC | H5F_ACC_EXCL)) {
      Fail("Open", H5E_CANTOPENFILE, Status::InvalidArgument("writing needs a transaction"));
      return nullptr;
    }
    int fd = ::open(name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      Fail("Open", H5E_CANTOPENFILE,
           Status::IOError(std::string(name) + ": " + std::strerror(errno)));
      if (fd >= 0) ::close(fd);
      return nullptr;
    }
    auto* file = static_cast<JournalFile*>(std::calloc(1, sizeof(JournalFile)));
    if (file == nullptr) {
      ::close(fd);
      return nullptr;
    }
    file->fd = fd;
    file->eof = static_cast<haddr_t>(st.st_size);
    file->serial = next_serial++;
    return &file->pub;
  }
  if ((flags & (H5F_ACC_CREAT | H5F_ACC_TRUNC | H5F_ACC_EXCL)) || maxaddr == 0 ||
      Transaction::Find(info->txn) == nullptr || Transaction::Find(info->txn)->path() != name) {
    Fail("Open", H5E_CANTOPENFILE,
         Status::InvalidArgument(std::string(name) + ": not the transaction's existing file"));
    return nullptr;
  }
  auto* file = static_cast<JournalFile*>(std::calloc(1, sizeof(JournalFile)));
  if (file == nullptr) return nullptr;
  file->txn = info->txn;
  file->fd = -1;
  file->serial = next_serial++;
  return &file->pub;
}

Transaction* TxnOf(const JournalFile* f) { return Transaction::Find(f->txn); }

herr_t Close(H5FD_t* file) {
  auto* f = reinterpret_cast<JournalFile*>(file);
  if (f->fd >= 0) ::close(f->fd);
  std::free(file);
  return 0;
}

// HDF5 shares its state between handles of "the same file". A commit's
// handle shares with nothing: not with one an earlier, failed commit may
// have left half closed, whose state no longer matches the file.
int Compare(const H5FD_t* a, const H5FD_t* b) {
  uint64_t x = reinterpret_cast<const JournalFile*>(a)->serial;
  uint64_t y = reinterpret_cast<const JournalFile*>(b)->serial;
  return x < y ? -1 : x > y ? 1 : 0;
}

herr_t Query(const H5FD_t*, unsigned long* flags) {
  // What sec2 does: HDF5 gathers small writes itself.
  if (flags)
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA;
  return 0;
}

haddr_t GetEoa(const H5FD_t* file, H5FD_mem_t) {
  return reinterpret_cast<const JournalFile*>(file)->eoa;
}

herr_t SetEoa(H5FD_t* file, H5FD_mem_t, haddr_t addr) {
  reinterpret_cast<JournalFile*>(file)->eoa = addr;
  return 0;
}

haddr_t GetEof(const H5FD_t* file, H5FD_mem_t) {
  const auto* f = reinterpret_cast<const JournalFile*>(file);
  if (f->txn == 0) return f->eof;
  Transaction* txn = TxnOf(f);
  return txn ? txn->size() : HADDR_UNDEF;
}

herr_t Read(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, void* buf) {
  auto* f = reinterpret_cast<JournalFile*>(file);
  if (addr == HADDR_UNDEF || addr > kMaxAddr || size > kMaxAddr - addr)
    return Fail("Read", H5E_OVERFLOW, Status::InvalidArgument("address out of range"));
  if (f->txn == 0) {
    // Past the end reads as zeros, as sec2 does.
    ssize_t n = PreadAll(f->fd, static_cast<char*>(buf), size, addr);
    if (n < 0)
      return Fail("Read", H5E_READERROR,
                  Status::IOError(std::string("pread: ") + std::strerror(errno)));
    std::memset(static_cast<char*>(buf) + n, 0, size - static_cast<size_t>(n));
    return 0;
  }
  Transaction* txn = TxnOf(f);
  if (txn == nullptr) return Fail("Read", H5E_READERROR, Status::Busy("the commit is over"));
  Status s = txn->Read(addr, size, static_cast<char*>(buf));
  return s.ok() ? 0 : Fail("Read", H5E_READERROR, s);
}

herr_t Write(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, const void* buf) {
  auto* f = reinterpret_cast<JournalFile*>(file);
  if (f->txn == 0) return Fail("Write", H5E_WRITEERROR, Status::ReadOnly("opened read-only"));
  Transaction* txn = TxnOf(f);
  if (txn == nullptr) return Fail("Write", H5E_WRITEERROR, Status::Busy("the commit is over"));
  if (addr == HADDR_UNDEF || addr > kMaxAddr || size > kMaxAddr - addr)
    return Fail("Write", H5E_OVERFLOW, Status::InvalidArgument("address out of range"));
  Status s = txn->Write(addr, static_cast<const char*>(buf), size);
  return s.ok() ? 0 : Fail("Write", H5E_WRITEERROR, s);
}

herr_t Truncate(H5FD_t* file, hid_t, hbool_t) {
  auto* f = reinterpret_cast<JournalFile*>(file);
  if (f->txn == 0) return 0;
  Transaction* txn = TxnOf(f);
  if (txn == nullptr) return Fail("Truncate", H5E_SEEKERROR, Status::Busy("the commit is over"));
  if (f->eoa == txn->size()) return 0;
  Status s = txn->Truncate(f->eoa);
  return s.ok() ? 0 : Fail("Truncate", H5E_SEEKERROR, s);
}

// The versioned file's own lock covers the file: nothing to take here.
herr_t Lock(H5FD_t*, hbool_t) { return 0; }
herr_t Unlock(H5FD_t*) { return 0; }

H5FD_class_t MakeClass() {
  H5FD_class_t c{};
  c.name = "vh5journal";
  c.maxaddr = kMaxAddr;
  c.fc_degree = H5F_CLOSE_WEAK;
  c.fapl_size = sizeof(DriverInfo);
  c.fapl_get = InfoGet;
  c.fapl_copy = InfoCopy;
  c.fapl_free = InfoFree;
  c.open = Open;
  c.close = Close;
  c.cmp = Compare;
  c.query = Query;
  c.get_eoa = GetEoa;
  c.set_eoa = SetEoa;
  c.get_eof = GetEof;
  c.read = Read;
  c.write = Write;
  c.truncate = Truncate;
  c.lock = Lock;
  c.unlock = Unlock;
  H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
  std::memcpy(c.fl_map, map, sizeof map);
  return c;
}

Result<hid_t> DriverId() {
  static Mutex mu;
  static hid_t id = H5I_INVALID_HID;
  MutexLock lock(&mu);
  if (id < 0) {
    static const H5FD_class_t cls = MakeClass();
    id = H5FDregister(&cls);
    if (id < 0) return h5::Error("cannot register the journaling file driver");
  }
  return id;
}

Result<h5::Handle> FileAccess(Transaction* txn) {
  VH5_ASSIGN_OR_RETURN(hid_t driver, DriverId());
  h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  DriverInfo info{txn ? txn->id() : 0};
  if (!fapl || H5Pset_driver(fapl.get(), driver, &info) < 0 ||
      H5Pset_file_locking(fapl.get(), false, true) < 0)
    return h5::Error("cannot set up file access");
  return fapl;
}

}  // namespace

Result<h5::Handle> SnapshotFileAccess() { return FileAccess(nullptr); }

Result<h5::Handle> JournaledFileAccess(Transaction* txn) {
  if (txn == nullptr) return Status::InvalidArgument("no transaction");
  return FileAccess(txn);
}

Status CloseJournaled(hid_t file, Transaction* txn, bool failed) {
  if (failed) txn->Discard();
  if (H5Fclose(file) >= 0) return Status::OK();
  Status s = h5::Error("cannot close");
  txn->Discard();
  H5Fclose(file);
  h5::TakeErrorStack();
  return s;
}

}  // namespace vh5
