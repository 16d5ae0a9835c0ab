#include "test_util.h"

#include <fcntl.h>
#include <hdf5.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/test/execution_monitor.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace vh5test {

TempDir::TempDir() {
  std::string tmpl = "/tmp/vh5fs-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

SmallDisk::SmallDisk(int mib) {
  std::string options = "size=" + std::to_string(mib) + "m,mode=0755";
  if (::mount("vh5fs-test", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0)
    throw std::runtime_error("cannot mount a tmpfs: " + std::string(std::strerror(errno)));
}

SmallDisk::~SmallDisk() { ::umount2(dir_.path().c_str(), MNT_DETACH); }

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

std::map<std::string, std::string> AllContents(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    out[rel] = e.is_regular_file() ? Sha256Hex(ReadFile(e.path())) : "<dir>";
  }
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void WritePlainHdf5(const fs::path& path, const std::string& group) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0 || g < 0) throw std::runtime_error("cannot write " + path.string());
  H5Gclose(g);
  H5Fclose(f);
}

std::string ReadFileInPieces(const fs::path& path, size_t piece) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path.string() + ": " + strerror(errno));
  std::string out;
  std::vector<char> buf(piece);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw std::runtime_error("read " + path.string() + ": " + strerror(err));
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

namespace {

// Starts argv[0] (a path, no shell) with stdin /dev/null and stdout/stderr
// to the given files.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& out_path,
            const fs::path& err_path) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

CommandResult Run(const std::vector<std::string>& argv) {
  TempDir dir;
  fs::path out_path = dir.path() / "out", err_path = dir.path() / "err";
  pid_t pid = Spawn(argv, out_path, err_path);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CommandResult r;
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

void Sh(const std::vector<std::string>& argv) {
  CommandResult r = Run(argv);
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  BOOST_REQUIRE_MESSAGE(r.exit_status == 0, cmd << "failed: " << r.err);
}

void SetX(const fs::path& path, const std::string& name, const std::string& value) {
  BOOST_REQUIRE_MESSAGE(::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0,
                        "setxattr " << name << " on " << path << ": " << std::strerror(errno));
}

std::optional<std::string> GetXattr(const fs::path& path, const std::string& name) {
  ssize_t n = ::getxattr(path.c_str(), name.c_str(), nullptr, 0);
  if (n < 0) return std::nullopt;
  std::string value(static_cast<size_t>(n), '\0');
  n = ::getxattr(path.c_str(), name.c_str(), value.data(), value.size());
  if (n < 0) return std::nullopt;
  value.resize(static_cast<size_t>(n));
  return value;
}

std::vector<std::string> ListXattrs(const fs::path& path) {
  ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
  if (n <= 0) return {};
  std::string names(static_cast<size_t>(n), '\0');
  n = ::listxattr(path.c_str(), names.data(), names.size());
  std::vector<std::string> out;
  for (size_t pos = 0; pos < static_cast<size_t>(std::max<ssize_t>(n, 0));) {
    size_t end = names.find('\0', pos);
    out.push_back(names.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

bool IsMounted(const fs::path& mountpoint) {
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, mnt, rest;
  while (mounts >> dev >> mnt && std::getline(mounts, rest)) {
    if (mnt == mountpoint.string()) return true;
  }
  return false;
}

FileState FileState::Of(const fs::path& file) {
  FileState s;
  struct stat st;
  if (::stat(file.c_str(), &st) == 0) s.mtime = st.st_mtim;
  s.sha256 = fs::is_regular_file(file) ? Sha256Hex(ReadFile(file)) : "<absent>";
  return s;
}

void CheckUnchanged(const fs::path& file, const FileState& before) {
  FileState after = FileState::Of(file);
  BOOST_TEST(after.sha256 == before.sha256, file << " bytes unchanged");
  BOOST_TEST(after.mtime.tv_sec == before.mtime.tv_sec, file << " mtime unchanged");
  BOOST_TEST(after.mtime.tv_nsec == before.mtime.tv_nsec, file << " mtime unchanged");
}

vh5::NewDataset MakeDataset(std::string path, std::string dtype, std::vector<uint64_t> shape,
                            std::vector<uint64_t> chunks) {
  vh5::NewDataset d;
  d.path = std::move(path);
  d.dtype = std::move(dtype);
  d.shape = std::move(shape);
  d.chunks = std::move(chunks);
  return d;
}

void CheckMountRefused(const fs::path& file, const std::string& why, const std::string& named) {
  BOOST_TEST_CONTEXT(why) {
    TempDir dir;
    fs::path mnt = dir.path() / "mnt";
    fs::create_directory(mnt);
    FileState before = FileState::Of(file);
    // Without -f: were the file accepted, vh5fs would daemonize and return.
    CommandResult r = Run({Vh5fsBinary(), file.string(), mnt.string()});
    BOOST_TEST(r.exit_status == 1);
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, "stderr: " << r.err);
    BOOST_TEST(r.err.rfind("vh5fs: ", 0) == 0, "stderr: " << r.err);
    if (!named.empty()) BOOST_TEST(r.err.find(named) != std::string::npos, "stderr: " << r.err);
    BOOST_TEST(r.out == "");
    BOOST_TEST(!IsMounted(mnt));
    if (IsMounted(mnt)) Run({"/bin/fusermount3", "-uz", mnt.string()});
    BOOST_TEST(fs::is_empty(mnt));
    if (!fs::is_directory(file)) CheckUnchanged(file, before);
  }
}

Mount::Mount(const fs::path& file, std::vector<std::string> extra_args, const std::string& binary) {
  mountpoint_ = dir_.path() / "mnt";
  fs::create_directory(mountpoint_);
  std::vector<std::string> argv = {binary, file.string(), mountpoint_.string(), "-f"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  fs::path log = dir_.path() / "vh5fs.log";
  child_ = Spawn(argv, dir_.path() / "vh5fs.out", log);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!IsMounted(mountpoint_)) {
    int status;
    if (::waitpid(child_, &status, WNOHANG) == child_) {
      child_ = -1;
      throw std::runtime_error("vh5fs exited before mounting: " + ReadFile(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, &status, 0);
      child_ = -1;
      throw std::runtime_error("vh5fs did not mount within 20 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) ::close(fd_);
}

int ScopedFd::Close() {
  int fd = fd_;
  fd_ = -1;
  return ::close(fd);
}

uint64_t PeakRssKiB(pid_t pid) {
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

namespace {

std::string HowItEnded(int status) {
  return WIFSIGNALED(status) ? "vh5fs killed by signal " + std::to_string(WTERMSIG(status))
                             : "vh5fs exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

std::string Mount::Ended() {
  int status = 0;
  if (child_ > 0 && ::waitpid(child_, &status, WNOHANG) == child_) {
    child_ = -1;
    ended_ = HowItEnded(status) + "; stderr: " + ReadFile(dir_.path() / "vh5fs.log");
  }
  return ended_;
}

std::string Mount::Log() const { return ReadFile(dir_.path() / "vh5fs.log"); }

// Unmounts (lazily if it stays busy), then reaps vh5fs, which must exit 0.
Mount::~Mount() {
  for (int attempt = 0; IsMounted(mountpoint_); ++attempt) {
    if (attempt == 5) {
      Run({"/bin/fusermount3", "-uz", mountpoint_.string()});
      break;
    }
    if (Run({"/bin/fusermount3", "-u", mountpoint_.string()}).exit_status == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (child_ <= 0) return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (::waitpid(child_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, &status, 0);
      BOOST_ERROR("vh5fs still ran 10 s after the unmount; killed");
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    BOOST_ERROR(HowItEnded(status)
                << " after the unmount; stderr: " << ReadFile(dir_.path() / "vh5fs.log"));
}

std::shared_ptr<vh5::VersionedFile> OpenWritable(const fs::path& file) {
  auto f = vh5::VersionedFile::Open(file.string(), vh5::VersionedFile::Access::kReadWrite);
  BOOST_REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  return *f;
}

std::string ReadStaged(const vh5::Staging& staging, const std::string& path) {
  auto size = staging.Size(path);
  BOOST_REQUIRE_MESSAGE(size.ok(), size.status().ToString());
  std::string out(*size, '\0');
  auto n = staging.Read(path, 0, out.size(), out.data());
  BOOST_REQUIRE_MESSAGE(n.ok(), n.status().ToString());
  out.resize(*n);
  return out;
}

std::optional<fs::path> SharedFixtures() {
  const char* env = std::getenv("VH5_SHARED_DIR");
  fs::path shared = env ? fs::path(env) : fs::path(VH5_SOURCE_DIR) / ".." / "shared";
  fs::path fixtures = shared / "fixtures";
  if (fs::exists(fixtures / "manifest.json")) return fs::canonical(fixtures);
  return std::nullopt;
}

boost::test_tools::assertion_result RequiresSharedFixtures::operator()(
    boost::unit_test::test_unit_id) const {
  boost::test_tools::assertion_result result(SharedFixtures().has_value());
  if (!result) result.message() << "../shared/fixtures is absent";
  return result;
}

boost::property_tree::ptree H5pyOracle(const fs::path& file, int wait_seconds) {
  CommandResult r = Run({"/usr/bin/python3", std::string(VH5_SOURCE_DIR) + "/tests/h5py_oracle.py",
                         file.string(), std::to_string(wait_seconds)});
  BOOST_REQUIRE_MESSAGE(r.exit_status == 0, "h5py oracle failed: " << r.err);
  std::istringstream in(r.out);
  boost::property_tree::ptree tree;
  boost::property_tree::read_json(in, tree);
  return tree;
}

const boost::property_tree::ptree& At(const boost::property_tree::ptree& tree,
                                      const std::string& key) {
  for (const auto& [k, v] : tree)
    if (k == key) return v;
  BOOST_FAIL("no key " + key);
  return tree;
}

void Isolated(const std::function<void()>& checks) {
  try {
    checks();
  } catch (const boost::execution_aborted&) {
  } catch (const std::exception& e) {
    BOOST_ERROR("exception: " << e.what());
  }
}

void VerifyClean(const fs::path& file) {
  CommandResult r = Run({Vh5Binary(), "verify", file.string()});
  BOOST_TEST(r.exit_status == 0, "vh5 verify " << file << ": " << r.out << r.err);
}

namespace {

std::string FromEnv(const char* name, const char* built) {
  const char* env = std::getenv(name);
  return env && *env ? env : built;
}

}  // namespace

std::string Vh5fsBinary() { return FromEnv("VH5FS_BINARY", VH5FS_BINARY); }
std::string Vh5Binary() { return FromEnv("VH5_BINARY", VH5_BINARY); }
std::string CrashableVh5fsBinary() { return CRASHABLE_VH5FS_BINARY; }

int ExitStatusInChild(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace vh5test
