// bench_read: the reads the benchmark times, in C so that the figures for
// vh5fs and for a plain file carry no interpreter overhead. Each mode prints
// one line "key=value ..." for bench/*.py to parse.
//
//   bench_read seq FILE [BUFSIZE]
//       read(2) of BUFSIZE (default 1 MiB) pieces from start to end; the
//       time includes open(2) -> bytes= seconds=
//   bench_read rand FILE IOSIZE MAXCOUNT MAXSECONDS SEED [DROP]
//       pread(2) of IOSIZE bytes at random IOSIZE-aligned offsets until
//       MAXCOUNT reads or MAXSECONDS, whichever first -> reads= seconds=
//       With DROP=1 the file's page cache is dropped (posix_fadvise
//       DONTNEED, not timed) before every read, so each read misses it.
//   bench_read slab FILE OFFSET STRIDE PIECE COUNT
//       pread(2) of COUNT pieces of PIECE bytes at OFFSET + k*STRIDE
//       (a row slab is one piece; a column slab one piece per row);
//       the time includes open(2) -> bytes= seconds=
//   bench_read drop FILE
//       posix_fadvise(POSIX_FADV_DONTNEED) on the whole file -> resident_before= resident_after=
//   bench_read resident FILE
//       pages of FILE in the page cache (mincore) -> resident= pages=
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "bench_read: %s: %s\n", what.c_str(), std::strerror(errno));
  return 1;
}

int OpenOrDie(const char* path) {
  int fd = ::open(path, O_RDONLY);
  if (fd < 0) {
    Fail(path);
    std::exit(1);
  }
  return fd;
}

uint64_t SizeOf(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

int Seq(const char* path, size_t bufsize) {
  std::vector<char> buf(bufsize);
  auto t0 = Clock::now();
  int fd = OpenOrDie(path);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) return Fail(path);
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
  }
  double secs = Since(t0);
  ::close(fd);
  std::printf("bytes=%" PRIu64 " seconds=%.6f\n", total, secs);
  return 0;
}

int Rand(const char* path, size_t iosize, uint64_t maxcount, double maxsecs, uint64_t seed,
         bool drop) {
  int fd = OpenOrDie(path);
  uint64_t slots = SizeOf(fd) / iosize;
  if (slots == 0) return Fail("file smaller than one read");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, slots - 1);
  std::vector<char> buf(iosize);
  uint64_t done = 0;
  double secs = 0;
  if (drop) {
    while (done < maxcount && secs < maxsecs) {
      off_t off = static_cast<off_t>(pick(rng) * iosize);
      if (int rc = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); rc != 0) {
        errno = rc;
        return Fail(path);
      }
      auto t0 = Clock::now();
      if (::pread(fd, buf.data(), iosize, off) != static_cast<ssize_t>(iosize)) return Fail(path);
      secs += Since(t0);
      ++done;
    }
  } else {
    auto t0 = Clock::now();
    while (done < maxcount) {
      off_t off = static_cast<off_t>(pick(rng) * iosize);
      if (::pread(fd, buf.data(), iosize, off) != static_cast<ssize_t>(iosize)) return Fail(path);
      ++done;
      if ((done & 63) == 0 && Since(t0) >= maxsecs) break;
    }
    secs = Since(t0);
  }
  ::close(fd);
  std::printf("reads=%" PRIu64 " seconds=%.6f\n", done, secs);
  return 0;
}

int Slab(const char* path, uint64_t offset, uint64_t stride, size_t piece, uint64_t count) {
  std::vector<char> buf(piece);
  auto t0 = Clock::now();  // open(2) included, as in Seq
  int fd = OpenOrDie(path);
  for (uint64_t k = 0; k < count; ++k) {
    off_t off = static_cast<off_t>(offset + k * stride);
    if (::pread(fd, buf.data(), piece, off) != static_cast<ssize_t>(piece)) return Fail(path);
  }
  double secs = Since(t0);
  ::close(fd);
  std::printf("bytes=%" PRIu64 " seconds=%.6f\n", count * piece, secs);
  return 0;
}

// Pages of the open file `fd` in the page cache.
uint64_t Resident(int fd, uint64_t* pages) {
  uint64_t size = SizeOf(fd);
  long page = ::sysconf(_SC_PAGESIZE);
  *pages = (size + page - 1) / page;
  if (size == 0) return 0;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return UINT64_MAX;
  std::vector<unsigned char> vec(*pages);
  uint64_t resident = 0;
  if (::mincore(map, size, vec.data()) == 0) {
    for (unsigned char v : vec) resident += v & 1;
  } else {
    resident = UINT64_MAX;
  }
  ::munmap(map, size);
  return resident;
}

int Drop(const char* path) {
  int fd = OpenOrDie(path);
  uint64_t pages;
  uint64_t before = Resident(fd, &pages);
  int rc = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  if (rc != 0) {
    errno = rc;
    return Fail(path);
  }
  uint64_t after = Resident(fd, &pages);
  ::close(fd);
  std::printf("resident_before=%" PRIu64 " resident_after=%" PRIu64 " pages=%" PRIu64 "\n", before,
              after, pages);
  return 0;
}

int ShowResident(const char* path) {
  int fd = OpenOrDie(path);
  uint64_t pages;
  uint64_t resident = Resident(fd, &pages);
  ::close(fd);
  std::printf("resident=%" PRIu64 " pages=%" PRIu64 "\n", resident, pages);
  return 0;
}

uint64_t Num(const char* s) { return std::strtoull(s, nullptr, 10); }

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 2 ? argv[1] : "";
  if (mode == "seq" && (argc == 3 || argc == 4))
    return Seq(argv[2], argc == 4 ? Num(argv[3]) : 1 << 20);
  if (mode == "rand" && (argc == 7 || argc == 8))
    return Rand(argv[2], Num(argv[3]), Num(argv[4]), std::atof(argv[5]), Num(argv[6]),
                argc == 8 && Num(argv[7]) != 0);
  if (mode == "slab" && argc == 7)
    return Slab(argv[2], Num(argv[3]), Num(argv[4]), Num(argv[5]), Num(argv[6]));
  if (mode == "drop" && argc == 3) return Drop(argv[2]);
  if (mode == "resident" && argc == 3) return ShowResident(argv[2]);
  std::fprintf(
      stderr, "usage: bench_read seq|rand|slab|drop|resident FILE ... (see bench/bench_read.cc)\n");
  return 1;
}
