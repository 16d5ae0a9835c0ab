// The daemon: its command line, the mount, the session loop (run.h).
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "filesystem.h"
#include "log.h"
#include "name_invalidator.h"
#include "ops.h"
#include "readahead.h"
#include "run.h"
#include "vh5/writer.h"

namespace vh5fs {
namespace {

constexpr const char kUsage[] =
    "usage: vh5fs FILE MOUNTPOINT [-f] [-d] [-o OPT[,OPT...]]\n"
    "  -f            stay in the foreground\n"
    "  -d            debug: foreground, log every FUSE request\n"
    "  -o ro         read-only mount\n"
    "  -o create     make FILE an empty versioned file if it does not exist\n"
    "  -o nozarr     no zarr/ (each version as a Zarr v2 store)\n"
    "  -o own_times  a dataset's or group's times: the version that last changed it\n"
    "  -o commit_wait=SECONDS  how long a commit waits for another process\n"
    "                holding FILE (default 30), then EBUSY\n"
    "  -o cache_size=BYTES  memory kept to read faster (version trees, chunk\n"
    "                maps, decoded chunks), with a K, M or G suffix (default 256M)\n"
    "  -o OPT        any other option is passed to FUSE (allow_other, ...)\n"
    "  -h, --help    this text;  -V, --version  the version\n"
    "Unmount with: fusermount3 -u MOUNTPOINT\n";

struct CommandLine {
  std::string file;
  std::string mountpoint;
  bool foreground = false;
  bool debug = false;
  bool read_only = false;
  bool create = false;
  bool zarr = true;
  bool own_times = false;
  int commit_wait_seconds = 30;
  uint64_t cache_bytes = uint64_t{256} << 20;
  std::vector<std::string> fuse_options;  // passed through to FUSE
};

int Refuse(const std::string& message) {
  std::fprintf(stderr, "vh5fs: %s\n", message.c_str());
  return 1;
}

// "64M", "1G", "4096": bytes, with a binary K, M or G suffix; nullopt if not.
std::optional<uint64_t> ParseSize(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])) || errno != 0)
    return std::nullopt;
  std::string suffix(end);
  int shift = suffix.empty()                   ? 0
              : suffix == "K" || suffix == "k" ? 10
              : suffix == "M" || suffix == "m" ? 20
              : suffix == "G" || suffix == "g" ? 30
                                               : -1;
  if (shift < 0 || n > (uint64_t{1} << 50) >> shift) return std::nullopt;
  return uint64_t{n} << shift;
}

// Returns false for a value that is not an option's.
bool AddOptions(const std::string& list, CommandLine* cl) {
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string opt = list.substr(start, comma == std::string::npos ? comma : comma - start);
    if (opt == "ro") {
      cl->read_only = true;
    } else if (opt == "rw") {
      cl->read_only = false;
    } else if (opt == "nozarr") {
      cl->zarr = false;
    } else if (opt == "own_times") {
      cl->own_times = true;
    } else if (opt == "create") {
      cl->create = true;
    } else if (opt.rfind("commit_wait=", 0) == 0) {
      char* end = nullptr;
      long seconds = std::strtol(opt.c_str() + 12, &end, 10);
      if (end == opt.c_str() + 12 || *end != '\0' || seconds < 0 || seconds > 86400) return false;
      cl->commit_wait_seconds = static_cast<int>(seconds);
    } else if (opt.rfind("cache_size=", 0) == 0) {
      std::optional<uint64_t> bytes = ParseSize(opt.substr(11));
      if (!bytes) return false;
      cl->cache_bytes = *bytes;
    } else if (!opt.empty()) {
      cl->fuse_options.push_back(opt);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return true;
}

// Returns -1 to go on, or an exit status.
int Parse(int argc, char** argv, CommandLine* cl) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "-V" || arg == "--version") {
      std::printf("vh5fs %s\n", VH5FS_VERSION);
      return 0;
    } else if (arg == "-f") {
      cl->foreground = true;
    } else if (arg == "-d") {
      cl->debug = cl->foreground = true;
    } else if (arg == "-o") {
      if (++i >= argc) return Refuse("-o needs an argument");
      if (!AddOptions(argv[i], cl)) return Refuse(std::string("bad option value in ") + argv[i]);
    } else if (arg.rfind("-o", 0) == 0) {
      if (!AddOptions(arg.substr(2), cl)) return Refuse("bad option value in " + arg);
    } else if (!arg.empty() && arg[0] == '-') {
      return Refuse("unknown option " + arg + " (see vh5fs --help)");
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  cl->file = positional[0];
  cl->mountpoint = positional[1];
  return -1;
}

std::string EscapeOption(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// RAII owners of the FUSE resources, released in reverse order of creation.
struct FuseArgs {
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  ~FuseArgs() { fuse_opt_free_args(&args); }
};
struct Session {
  fuse_session* se = nullptr;
  ~Session() {
    if (se) fuse_session_destroy(se);
  }
};
struct SignalHandlers {
  fuse_session* se = nullptr;
  ~SignalHandlers() {
    if (se) fuse_remove_signal_handlers(se);
  }
};
struct Mount {
  fuse_session* se = nullptr;
  ~Mount() {
    if (se) fuse_session_unmount(se);
  }
};
// The file's change listener for as long as this lives: its thread must
// not call into what is destroyed after it.
struct ChangeListener {
  vh5::VersionedFile& file;
  ChangeListener(vh5::VersionedFile& followed, std::function<void()> listener) : file(followed) {
    file.SetChangeListener(std::move(listener));
  }
  ~ChangeListener() { file.SetChangeListener(nullptr); }
};
struct LoopConfig {
  fuse_loop_config* config = fuse_loop_cfg_create();
  ~LoopConfig() { fuse_loop_cfg_destroy(config); }
};

// Reading the file moved its access time: put back what it was at mount
// when nothing changed the file since (no commit, here or elsewhere), so
// that a mount that committed nothing leaves its times as they were.
void RestoreAccessTime(const char* path, const struct stat& before) {
  struct stat now;
  if (::stat(path, &now) != 0 || now.st_ino != before.st_ino || now.st_size != before.st_size ||
      now.st_mtim.tv_sec != before.st_mtim.tv_sec || now.st_mtim.tv_nsec != before.st_mtim.tv_nsec)
    return;
  struct timespec times[2] = {before.st_atim, {0, UTIME_OMIT}};
  if (::utimensat(AT_FDCWD, path, times, 0) != 0)
    LogInfo(std::string(path) + ": access time not restored: " + std::strerror(errno));
}

// -o create: FILE made an empty versioned file, as `vh5 init` makes one,
// when nothing is there; an existing FILE is mounted as it is (never
// written into here). Made under another name and linked into place, so
// that FILE is never seen half made, and a FILE another process made
// meanwhile is kept. Returns -1 to go on, or an exit status.
int CreateIfMissing(const std::string& file) {
  struct stat st;
  if (::lstat(file.c_str(), &st) == 0) return -1;
  if (errno != ENOENT) return Refuse(file + ": " + std::strerror(errno));
  std::string made = file + ".vh5fs-create-" + std::to_string(::getpid());
  ::unlink(made.c_str());  // a leftover of a process of this pid that died
  if (vh5::Status s = vh5::CreateVersionedFile(made); !s.ok()) {
    ::unlink(made.c_str());
    return Refuse(file + ": cannot create: " + s.message());
  }
  int linked = ::link(made.c_str(), file.c_str());
  int err = errno;
  ::unlink(made.c_str());
  if (linked != 0 && err != EEXIST) return Refuse(file + ": cannot create: " + std::strerror(err));
  if (linked == 0) LogInfo("created " + file + ", an empty versioned file");
  return -1;
}

// Mounts `file` and serves it until unmounted; returns the exit status.
int Serve(const CommandLine& cl, const char* argv0, const std::string& resolved,
          std::shared_ptr<vh5::VersionedFile> file, bool read_only) {
  std::shared_ptr<vh5::VersionedFile> followed = file;
  Filesystem fs(
      std::move(file),
      Options{read_only, cl.zarr, std::chrono::seconds(cl.commit_wait_seconds), cl.own_times});
  fuse_lowlevel_ops ops = MakeOperations();
  Served served{fs, ReadReplies::FromSystem(), 0};
  served.max_read = served.replies.max_read();

  FuseArgs args;
  fuse_opt_add_arg(&args.args, argv0);
  std::string mount_options = "fsname=" + EscapeOption(resolved) + ",subtype=vh5fs";
  if (cl.read_only) mount_options += ",ro";
  bool own_max_read = false;
  for (const std::string& opt : cl.fuse_options) {
    mount_options += "," + opt;
    if (opt.rfind("max_read=", 0) == 0) {
      served.max_read = std::strtoul(opt.c_str() + 9, nullptr, 0);
      own_max_read = true;
    }
  }
  // The kernel sizes read requests by this option alone.
  if (!own_max_read) mount_options += ",max_read=" + std::to_string(served.max_read);
  fuse_opt_add_arg(&args.args, "-o");
  fuse_opt_add_arg(&args.args, mount_options.c_str());
  if (cl.debug) fuse_opt_add_arg(&args.args, "-d");

  Session session;
  session.se = fuse_session_new(&args.args, &ops, sizeof ops, &served);
  if (session.se == nullptr) return Refuse("cannot start a FUSE session");
  SignalHandlers signals;
  if (fuse_set_signal_handlers(session.se) != 0) return Refuse("cannot set signal handlers");
  signals.se = session.se;
  Mount mount;
  if (fuse_session_mount(session.se, cl.mountpoint.c_str()) != 0)
    return Refuse(cl.mountpoint + ": cannot mount");
  mount.se = session.se;
  // Before the loop answers INIT, which keeps the smaller of this and max_readahead.
  char mounted_at[PATH_MAX];
  if (::realpath(cl.mountpoint.c_str(), mounted_at) == nullptr ||
      !SetReadaheadKb(MountDevice(mounted_at), static_cast<unsigned>(served.max_read >> 10)))
    LogInfo(std::string("readahead stays at the system default: ") + std::strerror(errno));
  if (fuse_daemonize(cl.foreground ? 1 : 0) != 0) return Refuse("cannot daemonize");
  if (!cl.foreground) UseSyslog();
  // After daemonizing: threads do not survive its fork.
  if (vh5::Status s = followed->StartFollowing(); !s.ok()) return Refuse(s.message());
  // Other processes' deletes reach the kernel's cache of versions/ names.
  NameInvalidator invalidator(session.se, [&fs] { return fs.TakeStaleNames(); });
  ChangeListener listener(*followed, [&invalidator] { invalidator.Poke(); });
  fs.KeepVersionNames();

  // Ended before the session is destroyed, however Serve returns.
  struct Trimming {
    Filesystem& fs;
    ~Trimming() { fs.StopTrimming(); }
  } trimming{fs};
  fs.StartTrimming(session.se);

  LoopConfig loop;
  fuse_loop_cfg_set_clone_fd(loop.config, 0);
  fuse_loop_cfg_set_max_threads(loop.config, 16);
  int rc = fuse_session_loop_mt(session.se, loop.config);
  return rc == 0 ? 0 : 1;
}

}  // namespace

int Run(int argc, char** argv) {
  // One malloc arena, set before any thread starts: HDF5 builds a commit's
  // virtual datasets out of many small allocations, and per-thread arenas
  // grew page by page (mprotect per step) and kept 1.6x the memory (measured:
  // 1 GiB in 32,768 chunks, commit 1.36 s -> 0.80 s, peak 1.65 -> 1.05 GiB).
  mallopt(M_ARENA_MAX, 1);
  // Nor hand the heap's top back after each request (1,506 brk calls for one
  // 256 MiB read): memory returns after commits, through malloc_trim.
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  CommandLine cl;
  if (int status = Parse(argc, argv, &cl); status >= 0) return status;
  if (cl.create) {
    if (int status = CreateIfMissing(cl.file); status >= 0) return status;
  }

  char resolved[PATH_MAX];
  if (::realpath(cl.file.c_str(), resolved) == nullptr)
    return Refuse(cl.file + ": " + std::strerror(errno));
  // Its times before anything reads it: see RestoreAccessTime.
  struct stat before {};
  bool have_before = ::stat(resolved, &before) == 0;
  // Refuse bad files before anything could write to them.
  vh5::VersionedFile::SetCacheBudget(cl.cache_bytes);
  vh5::OpenOptions options;
  options.commit_wait = std::chrono::seconds(cl.commit_wait_seconds);
  vh5::Result<std::shared_ptr<vh5::VersionedFile>> file =
      vh5::VersionedFile::Open(resolved, vh5::VersionedFile::Access::kReadOnly, options);
  if (!file.ok()) return Refuse(file.status().message());
  struct stat st;
  if (::stat(cl.mountpoint.c_str(), &st) != 0)
    return Refuse(cl.mountpoint + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return Refuse(cl.mountpoint + ": not a directory");

  bool read_only = cl.read_only;
  if (!read_only) {
    file->reset();
    file = vh5::VersionedFile::Open(resolved, vh5::VersionedFile::Access::kReadWrite, options);
    if (!file.ok()) {
      // Only a lack of permission means read-only; a file in use is refused.
      if (file.status().code() != vh5::Status::Code::kReadOnly)
        return Refuse(file.status().message());
      LogInfo(std::string(resolved) + " cannot be opened for writing; mounting read-only (" +
              file.status().message() + ")");
      read_only = true;
      file = vh5::VersionedFile::Open(resolved, vh5::VersionedFile::Access::kReadOnly, options);
      if (!file.ok()) return Refuse(file.status().message());
    }
  }
  // The file is opened for writing only inside a commit (a failed one puts
  // its times back at once): an uncommitted mount leaves its bytes and
  // modification time as they were, and its access time too, below.
  int status = Serve(cl, argv[0], resolved, std::move(*file), read_only);
  if (!read_only && have_before) RestoreAccessTime(resolved, before);
  return status;
}

}  // namespace vh5fs
