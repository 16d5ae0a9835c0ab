// A do-nothing FUSE filesystem: one read-only file of N bytes served from
// memory, and a file "sink" that accepts every write and keeps nothing (the
// FUSE write ceiling: what a cp into staging/ could reach at best). It measures the FUSE ceiling of
// this machine, the baseline that vh5fs's read throughput is compared with. Same FUSE settings as
// vh5fs (fs/ops.cc, fs/main.cc, fs/readahead.cc): low-level API, multithreaded loop of up to 16
// threads without clone_fd, 1 MiB requests and readahead (the mount's read_ahead_kb raised through
// sysfs between mount and INIT, as root may), async reads, kernel cache kept. Replies copy from
// memory (fuse_reply_buf): the data has no file to splice from.
//
// With ENTRIES, also a directory "many" of that many empty directories
// e0000000, e0000001, ..., listed with their attributes (READDIRPLUS, as
// vh5fs lists versions/) and without xattrs (ENODATA, as vh5fs answers ls's
// ACL and SELinux questions): the floor of `ls -l versions`.
//
//   fuse_ceiling MOUNTPOINT SIZE_BYTES [ENTRIES]   (foreground; fusermount3 -u to stop)
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <limits.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr unsigned kReadaheadKb = 1024;  // as fs/ops.h
constexpr fuse_ino_t kFileIno = 2;
constexpr const char kFileName[] = "data";
constexpr fuse_ino_t kSinkIno = 3;
constexpr const char kSinkName[] = "sink";
constexpr fuse_ino_t kManyIno = 4;
constexpr const char kManyName[] = "many";
constexpr fuse_ino_t kFirstEntryIno = 16;
uint64_t g_size = 0;
uint64_t g_entries = 0;
std::vector<char> g_block;  // 1 MiB of content, repeated

void FillStat(fuse_ino_t ino, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_ino = ino;
  if (ino == FUSE_ROOT_ID || ino == kManyIno || ino >= kFirstEntryIno) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
  } else if (ino == kSinkIno) {
    st->st_mode = S_IFREG | 0644;
    st->st_nlink = 1;
    st->st_blksize = 1 << 20;  // as vh5fs: cp sizes its buffers by it
  } else {
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = static_cast<off_t>(g_size);
  }
}

// Raises the readahead of the mount at `mountpoint` (its "major:minor" from
// /proc/self/mountinfo; mount points here need no unescaping); false when the
// kernel refuses, as for non-root users.
bool RaiseReadahead(const char* mountpoint) {
  char real[PATH_MAX];
  if (::realpath(mountpoint, real) == nullptr) return false;
  std::ifstream in("/proc/self/mountinfo");
  std::string line, device;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if ((fields >> id >> parent >> dev >> root >> point) && point == real) device = dev;
  }
  if (device.empty()) return false;
  std::ofstream out("/sys/class/bdi/" + device + "/read_ahead_kb");
  out << kReadaheadKb << '\n';
  out.flush();
  return static_cast<bool>(out);
}

void Init(void*, fuse_conn_info* conn) {
  conn->max_write = kReadaheadKb << 10;  // libfuse derives max_pages (read size too) from it
  conn->max_readahead = kReadaheadKb << 10;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
}

std::string EntryName(uint64_t k) {
  char name[32];
  std::snprintf(name, sizeof name, "e%07llu", static_cast<unsigned long long>(k));
  return name;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_ino_t ino = 0;
  if (parent == FUSE_ROOT_ID && std::strcmp(name, kFileName) == 0) ino = kFileIno;
  if (parent == FUSE_ROOT_ID && std::strcmp(name, kSinkName) == 0) ino = kSinkIno;
  if (parent == FUSE_ROOT_ID && g_entries > 0 && std::strcmp(name, kManyName) == 0) ino = kManyIno;
  if (parent == kManyIno && name[0] == 'e') {
    uint64_t k = std::strtoull(name + 1, nullptr, 10);
    if (k < g_entries && EntryName(k) == name) ino = kFirstEntryIno + k;
  }
  if (ino == 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = ino;
  e.attr_timeout = e.entry_timeout = ino == kSinkIno ? 0 : 86400;
  FillStat(ino, &e.attr);
  fuse_reply_entry(req, &e);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  FillStat(ino, &st);
  fuse_reply_attr(req, &st, ino == kSinkIno ? 0 : 86400);
}

// cp's O_TRUNC of the sink; it stays empty whatever is asked.
void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat*, int, fuse_file_info*) {
  if (ino != kSinkIno) {
    fuse_reply_err(req, EROFS);
    return;
  }
  struct stat st;
  FillStat(ino, &st);
  fuse_reply_attr(req, &st, 0);
}

void Write(fuse_req_t req, fuse_ino_t ino, const char*, size_t size, off_t, fuse_file_info*) {
  if (ino != kSinkIno) {
    fuse_reply_err(req, EBADF);
    return;
  }
  fuse_reply_write(req, size);
}

void Open(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  uint64_t offset = static_cast<uint64_t>(off);
  if (offset >= g_size) {
    fuse_reply_buf(req, nullptr, 0);
    return;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(size, g_size - offset));
  n = std::min(n, g_block.size());
  fuse_reply_buf(req, g_block.data(), n);
}

// The listing of `dir`: names and inode numbers, "." and ".." first.
void Listing(fuse_ino_t dir, std::vector<std::string>* names, std::vector<fuse_ino_t>* inos) {
  *names = {".", ".."};
  *inos = {dir, FUSE_ROOT_ID};
  if (dir == kManyIno) {
    for (uint64_t k = 0; k < g_entries; ++k) {
      names->push_back(EntryName(k));
      inos->push_back(kFirstEntryIno + k);
    }
    return;
  }
  names->insert(names->end(), {kFileName, kSinkName});
  inos->insert(inos->end(), {kFileIno, kSinkIno});
  if (g_entries > 0) {
    names->push_back(kManyName);
    inos->push_back(kManyIno);
  }
}

// READDIR, or with `plus` READDIRPLUS: each entry with its attributes (a
// lookup for the kernel) but "." and "..".
void List(fuse_req_t req, fuse_ino_t dir, size_t size, off_t off, bool plus) {
  std::vector<std::string> names;
  std::vector<fuse_ino_t> inos;
  Listing(dir, &names, &inos);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(off); i < names.size(); ++i) {
    const char* name = names[i].c_str();
    off_t next = static_cast<off_t>(i + 1);
    size_t need;
    if (plus) {
      fuse_entry_param e{};
      FillStat(inos[i], &e.attr);
      if (i >= 2) {
        e.ino = inos[i];
        e.attr_timeout = e.entry_timeout = 86400;
      }
      need = fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0);
      if (used + need > size) break;
      fuse_add_direntry_plus(req, buf.data() + used, size - used, name, &e, next);
    } else {
      struct stat st;
      FillStat(inos[i], &st);
      need = fuse_add_direntry(req, buf.data() + used, size - used, name, &st, next);
      if (used + need > size) break;
    }
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  List(req, ino, size, off, false);
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  List(req, ino, size, off, true);
}

void GetXattr(fuse_req_t req, fuse_ino_t, const char*, size_t) { fuse_reply_err(req, ENODATA); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: fuse_ceiling MOUNTPOINT SIZE_BYTES [ENTRIES]\n");
    return 1;
  }
  g_size = std::strtoull(argv[2], nullptr, 10);
  if (argc == 4) g_entries = std::strtoull(argv[3], nullptr, 10);
  g_block.assign(1 << 20, 'x');
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.getattr = GetAttr;
  ops.open = Open;
  ops.read = Read;
  ops.setattr = SetAttr;
  ops.write = Write;
  ops.readdir = ReadDir;
  ops.readdirplus = ReadDirPlus;
  ops.getxattr = GetXattr;
  char arg0[] = "fuse_ceiling";
  char* fuse_argv[] = {arg0, nullptr};
  fuse_args args = FUSE_ARGS_INIT(1, fuse_argv);
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  if (se == nullptr) return 1;
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, argv[1]) == 0) {
      if (!RaiseReadahead(argv[1]))
        std::fprintf(stderr, "fuse_ceiling: readahead stays at the system default\n");
      fuse_loop_config* config = fuse_loop_cfg_create();
      fuse_loop_cfg_set_clone_fd(config, 0);
      fuse_loop_cfg_set_max_threads(config, 16);
      rc = fuse_session_loop_mt(se, config);
      fuse_loop_cfg_destroy(config);
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  return rc == 0 ? 0 : 1;
}
