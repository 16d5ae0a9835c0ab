// Thin adapters: each op_x sends exactly one reply and lets no exception
// escape into libfuse's C code.
#include "ops.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "log.h"

namespace vh5fs {
namespace {

Served& Serving(fuse_req_t req) { return *static_cast<Served*>(fuse_req_userdata(req)); }
Filesystem& Fs(fuse_req_t req) { return Serving(req).fs; }

// Runs `body`, which replies itself; any exception becomes an EIO reply.
template <typename Body>
void Guarded(fuse_req_t req, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    LogError(std::string("internal error: ") + e.what());
    fuse_reply_err(req, EIO);
  } catch (...) {
    LogError("internal error");
    fuse_reply_err(req, EIO);
  }
}

void ReplyEntry(fuse_req_t req, const Filesystem::Entry& entry) {
  fuse_entry_param e{};
  e.ino = entry.ino;
  e.attr = entry.attr;
  e.attr_timeout = entry.timeout;
  e.entry_timeout = entry.entry_timeout;
  fuse_reply_entry(req, &e);
}

void op_init(void* userdata, fuse_conn_info* conn) {
  const Served& served = *static_cast<Served*>(userdata);
  // libfuse derives max_pages from max_write; reads are held to max_read,
  // which must equal the mount option (see Serve). A readahead window of one
  // request measured best (896 KiB: 2.9 GiB/s; 1.8 or 3.5 MiB: 2.2-2.7).
  conn->max_write = kMaxWrite;
  conn->max_read = static_cast<unsigned>(served.max_read);
  conn->max_readahead = static_cast<unsigned>(served.max_read);
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  // Chunks stored unfiltered go from the file to the reader by splice(2).
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] {
    Filesystem::Entry entry;
    if (int err = Fs(req).DoLookup(parent, name, &entry)) {
      fuse_reply_err(req, err);
      return;
    }
    ReplyEntry(req, entry);
  });
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Fs(req).DoForget(ino, nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Fs(req).DoForget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Guarded(req, [&] {
    struct stat st;
    double timeout = 0;
    if (int err = Fs(req).DoGetattr(ino, &st, &timeout)) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_attr(req, &st, timeout);
  });
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  Guarded(req, [&] {
    std::string target;
    if (int err = Fs(req).DoReadlink(ino, &target)) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_readlink(req, target.c_str());
  });
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, [&] {
    Filesystem::OpenDir* dir = nullptr;
    if (int err = Fs(req).DoOpendir(ino, &dir)) {
      fuse_reply_err(req, err);
      return;
    }
    fi->fh = reinterpret_cast<uint64_t>(dir);
    // Listings of committed versions never change.
    fi->cache_readdir = dir->immutable;
    fi->keep_cache = dir->immutable;
    if (fuse_reply_open(req, fi) != 0) delete dir;  // the open was interrupted
  });
}

// The listing taken at opendir, taken again on a rewind (readdir at offset
// 0 after the first): an entry's offset is its index there, whatever
// changes meanwhile. nullptr when the rewind's listing failed (replied).
const std::vector<Filesystem::DirItem>* Listing(fuse_req_t req, fuse_ino_t ino, off_t offset,
                                                Filesystem::OpenDir* dir) {
  if (offset == 0 && dir->served) {
    // rewinddir(3): a fresh listing, as POSIX asks.
    std::vector<Filesystem::DirItem> items;
    if (int err = Fs(req).DoReaddir(ino, &items)) {
      fuse_reply_err(req, err);
      return nullptr;
    }
    dir->items = std::move(items);
  }
  dir->served = true;
  return &dir->items;
}

// READDIR, or with `plus` READDIRPLUS: where the directory lists with
// attributes, each entry is then looked up (the kernel counts it as a
// lookup), else it carries none.
void ReplyListing(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi,
                  bool plus) {
  Guarded(req, [&] {
    auto* dir = reinterpret_cast<Filesystem::OpenDir*>(fi->fh);
    const std::vector<Filesystem::DirItem>* items = Listing(req, ino, offset, dir);
    if (!items) return;
    std::vector<char> buf(size);
    std::vector<fuse_ino_t> looked_up;
    size_t used = 0;
    for (size_t i = static_cast<size_t>(std::max<off_t>(offset, 0)); i < items->size(); ++i) {
      const Filesystem::DirItem& item = (*items)[i];
      const char* name = item.name.c_str();
      off_t next = static_cast<off_t>(i + 1);
      if (!plus) {
        size_t need =
            fuse_add_direntry(req, buf.data() + used, size - used, name, &item.attr, next);
        if (need > size - used) break;
        used += need;
        continue;
      }
      if (fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0) > size - used) break;
      fuse_entry_param e{};
      e.attr = item.attr;  // ino 0: no attributes, the kernel looks it up if it must
      Filesystem::Entry entry;
      if (dir->with_attributes && item.name != "." && item.name != ".." &&
          Fs(req).DoLookup(ino, item.name, &entry) == 0 && entry.ino != 0) {
        e.ino = entry.ino;
        e.attr = entry.attr;
        e.attr_timeout = entry.timeout;
        e.entry_timeout = entry.entry_timeout;
        looked_up.push_back(entry.ino);
      }
      used += fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, next);
    }
    // An interrupted reply: the kernel never counted those lookups.
    if (fuse_reply_buf(req, buf.data(), used) != 0)
      for (fuse_ino_t looked : looked_up) Fs(req).DoForget(looked, 1);
  });
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  ReplyListing(req, ino, size, offset, fi, false);
}

void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
  ReplyListing(req, ino, size, offset, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<Filesystem::OpenDir*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, [&] {
    Filesystem::OpenFile* file = nullptr;
    if (int err = Fs(req).DoOpen(ino, fi->flags, &file)) {
      fuse_reply_err(req, err);
      return;
    }
    fi->fh = reinterpret_cast<uint64_t>(file);
    // A committed version's content never changes: what the kernel cached
    // stays good. A staging file's may change under it (a refused close
    // rolls back, a discard or a commit rebuilds staging/), so not that.
    fi->keep_cache = file->dataset != nullptr || file->text != nullptr;
    // Nothing to do at close(2) for those: no FLUSH round trip per close.
    fi->noflush = fi->keep_cache;
    if (fuse_reply_open(req, fi) != 0) delete file;  // the open was interrupted
  });
}

// Replies with the runs: the file's own bytes are spliced from `fd` (one copy
// fewer than reading them here; the caller has checked that they fit the
// pipe), the rest from `buf`.
void ReplyRuns(fuse_req_t req, const std::vector<vh5::Dataset::Run>& runs, int fd,
               std::vector<char>& buf) {
  thread_local std::vector<char> storage;
  storage.assign(sizeof(fuse_bufvec) + runs.size() * sizeof(fuse_buf), 0);
  auto* vec = reinterpret_cast<fuse_bufvec*>(storage.data());
  vec->count = runs.size();
  size_t in_buf = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    fuse_buf& b = vec->buf[i];
    b.size = runs[i].length;
    if (runs[i].file_offset >= 0) {
      b.flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
      b.fd = fd;
      b.pos = runs[i].file_offset;
    } else {
      b.mem = buf.data() + in_buf;
      in_buf += runs[i].length;
    }
  }
  fuse_reply_data(req, vec, FUSE_BUF_SPLICE_MOVE);
}

void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  Guarded(req, [&] {
    thread_local std::vector<char> buf;
    thread_local std::vector<vh5::Dataset::Run> runs;
    const auto* file = reinterpret_cast<const Filesystem::OpenFile*>(fi->fh);
    vh5::ReadHold hold;  // released when this returns, after the reply
    if (int err = Fs(req).DoLocate(*file, static_cast<uint64_t>(offset), size, &runs, &hold)) {
      fuse_reply_err(req, err);
      return;
    }
    int fd = hold.fd();
    bool from_file =
        fd >= 0 && std::any_of(runs.begin(), runs.end(),
                               [](const vh5::Dataset::Run& r) { return r.file_offset >= 0; });
    size_t total = 0;
    for (const vh5::Dataset::Run& run : runs) total += run.length;
    if (from_file && Serving(req).replies.Splices(runs.size(), total)) {
      if (int err = Fs(req).DoReadOtherRuns(*file, static_cast<uint64_t>(offset), runs, &buf)) {
        fuse_reply_err(req, err);
        return;
      }
      ReplyRuns(req, runs, fd, buf);
      return;
    }
    // Staging, filtered chunks, end of file, or runs too fragmented to splice.
    size_t n = 0;
    if (int err = Fs(req).DoRead(*file, static_cast<uint64_t>(offset), size, &buf, &n)) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_buf(req, buf.data(), n);
  });
}

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<Filesystem::OpenFile*>(fi->fh);
  fuse_reply_err(req, 0);
}

void ReplyXattr(fuse_req_t req, size_t size, const std::string& value) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (size < value.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guarded(req, [&] {
    std::string names;
    if (int err = Fs(req).DoListxattr(ino, &names)) {
      fuse_reply_err(req, err);
      return;
    }
    ReplyXattr(req, size, names);
  });
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guarded(req, [&] {
    std::string value;
    if (int err = Fs(req).DoGetxattr(ino, name, &value)) {
      fuse_reply_err(req, err);
      return;
    }
    ReplyXattr(req, size, value);
  });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  Guarded(req, [&] {
    Filesystem::Entry entry;
    Filesystem::OpenFile* file = nullptr;
    if (int err = Fs(req).DoCreate(parent, name, &entry, &file)) {
      fuse_reply_err(req, err);
      return;
    }
    fi->fh = reinterpret_cast<uint64_t>(file);
    fuse_entry_param e{};
    e.ino = entry.ino;
    e.attr = entry.attr;
    e.attr_timeout = e.entry_timeout = entry.timeout;
    if (fuse_reply_create(req, &e, fi) != 0) delete file;
  });
}

// Replies with an entry or an error, for the ops that make a node.
template <typename Make>
void ReplyMade(fuse_req_t req, Make&& make) {
  Guarded(req, [&] {
    Filesystem::Entry entry;
    if (int err = make(&entry)) {
      fuse_reply_err(req, err);
      return;
    }
    ReplyEntry(req, entry);
  });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  ReplyMade(req, [&](Filesystem::Entry* e) { return Fs(req).DoMknod(parent, name, mode, e); });
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
  ReplyMade(req, [&](Filesystem::Entry* e) { return Fs(req).DoMkdir(parent, name, e); });
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] { fuse_reply_err(req, Fs(req).DoUnlink(parent, name)); });
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] { fuse_reply_err(req, Fs(req).DoRmdir(parent, name)); });
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
               const char* new_name, unsigned int flags) {
  Guarded(req, [&] {
    fuse_reply_err(req, Fs(req).DoRename(parent, name, new_parent, new_name, flags));
  });
}

void op_write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t offset,
              fuse_file_info* fi) {
  Guarded(req, [&] {
    const auto* file = reinterpret_cast<const Filesystem::OpenFile*>(fi->fh);
    if (offset < 0) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    size_t written = 0;
    if (int err = Fs(req).DoWrite(*file, static_cast<uint64_t>(offset), std::string_view(buf, size),
                                  &written)) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_write(req, written);
  });
}

void op_copy_file_range(fuse_req_t req, fuse_ino_t, off_t in_offset, fuse_file_info* in_fi,
                        fuse_ino_t, off_t out_offset, fuse_file_info* out_fi, size_t len,
                        int flags) {
  Guarded(req, [&] {
    if (flags != 0 || in_offset < 0 || out_offset < 0) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    size_t copied = 0;
    if (int err =
            Fs(req).DoCopyFileRange(*reinterpret_cast<const Filesystem::OpenFile*>(in_fi->fh),
                                    static_cast<uint64_t>(in_offset),
                                    *reinterpret_cast<const Filesystem::OpenFile*>(out_fi->fh),
                                    static_cast<uint64_t>(out_offset), len, &copied)) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_write(req, copied);
  });
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Guarded(req, [&] {
    const auto* file = reinterpret_cast<const Filesystem::OpenFile*>(fi->fh);
    fuse_reply_err(req, Fs(req).DoFlush(*file));
  });
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  Guarded(req, [&] { fuse_reply_err(req, Fs(req).DoFsync(ino)); });
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Guarded(req, [&] {
    struct stat st;
    double timeout = 0;
    if (int err = Fs(req).DoSetattr(ino, *attr, to_set, fi != nullptr, &st, &timeout)) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_attr(req, &st, timeout);
  });
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                 int) {
  Guarded(req,
          [&] { fuse_reply_err(req, Fs(req).DoSetxattr(ino, name, std::string(value, size))); });
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Guarded(req, [&] { fuse_reply_err(req, Fs(req).DoRemovexattr(ino, name)); });
}

void op_symlink(fuse_req_t req, const char*, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] { fuse_reply_err(req, Fs(req).DoLink(parent, name)); });
}
void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t parent, const char* name) {
  Guarded(req, [&] { fuse_reply_err(req, Fs(req).DoLink(parent, name)); });
}
void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                  fuse_file_info* fi) {
  Guarded(req, [&] {
    const auto* file = reinterpret_cast<const Filesystem::OpenFile*>(fi->fh);
    fuse_reply_err(req, Fs(req).DoFallocate(ino, *file, mode, offset, length));
  });
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  Guarded(req, [&] {
    struct statvfs st {};
    if (int err = Fs(req).DoStatfs(&st)) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_statfs(req, &st);
  });
}

}  // namespace

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.readlink = op_readlink;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.readdirplus = op_readdirplus;
  ops.releasedir = op_releasedir;
  ops.open = op_open;
  ops.read = op_read;
  ops.release = op_release;
  ops.listxattr = op_listxattr;
  ops.getxattr = op_getxattr;
  ops.setattr = op_setattr;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.symlink = op_symlink;
  ops.rename = op_rename;
  ops.link = op_link;
  ops.create = op_create;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.copy_file_range = op_copy_file_range;
  ops.fsync = op_fsync;
  ops.fsyncdir = op_fsync;
  ops.setxattr = op_setxattr;
  ops.removexattr = op_removexattr;
  ops.fallocate = op_fallocate;
  ops.statfs = op_statfs;
  return ops;
}

}  // namespace vh5fs
