// A do-nothing FUSE filesystem: one read-only file of N bytes served from
// memory, and a file "sink" that accepts every write and keeps nothing (the
// FUSE write ceiling: what a cp into staging/ could reach at best). It measures the FUSE ceiling of
// this machine, the baseline that vh5fs's read throughput is compared with. Same FUSE settings as
// vh5fs (fs/ops.cc, fs/main.cc, fs/readahead.cc): low-level API, multithreaded loop of up to 16
// threads without clone_fd, 1 MiB requests and readahead (the mount's read_ahead_kb raised through
// sysfs between mount and INIT, as root may), async reads, kernel cache kept. Replies copy from
// memory (fuse_reply_buf): the data has no file to splice from.
//
//   fuse_ceiling MOUNTPOINT SIZE_BYTES   (foreground; fusermount3 -u to stop)
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
uint64_t g_size = 0;
std::vector<char> g_block;  // 1 MiB of content, repeated

void FillStat(fuse_ino_t ino, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_ino = ino;
  if (ino == FUSE_ROOT_ID) {
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

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_ino_t ino = 0;
  if (parent == FUSE_ROOT_ID && std::strcmp(name, kFileName) == 0) ino = kFileIno;
  if (parent == FUSE_ROOT_ID && std::strcmp(name, kSinkName) == 0) ino = kSinkIno;
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

void ReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  char buf[512];
  size_t used = 0;
  struct stat st;
  const char* names[] = {".", "..", kFileName, kSinkName};
  fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, kFileIno, kSinkIno};
  for (off_t i = off; i < 4; ++i) {
    FillStat(inos[i], &st);
    size_t need =
        fuse_add_direntry(req, buf + used, std::min(size, sizeof buf) - used, names[i], &st, i + 1);
    if (used + need > std::min(size, sizeof buf)) break;
    used += need;
  }
  fuse_reply_buf(req, buf, used);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuse_ceiling MOUNTPOINT SIZE_BYTES\n");
    return 1;
  }
  g_size = std::strtoull(argv[2], nullptr, 10);
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
