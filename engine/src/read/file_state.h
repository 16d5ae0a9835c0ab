// What every reader of one open versioned file shares about the file as it
// is on disk, and the pass every read of its bytes takes.
//
// Two things can change the bytes under a reader:
//   - this process's own commit writes metadata in place for milliseconds
//     (atomic_commit.h): readers of metadata hold `disk_mu` shared;
//   - another process writes the file (the Python library, vh5, another
//     mount): the watcher (file/file_watcher.h) closes `gate` before that
//     process may write, and opens it once the file is read again. While it
//     is closed, a read waits for it up to `writer_wait`, then TryAgain.
// After another process changed the file, everything read before may be
// out of date. Each FileCore carries the generation it was opened at:
// metadata is only read through a core of the current generation, and
// data through a core opened since chunks last moved (a delete compacts
// raw_data in place; a repack replaces the file). Otherwise Stale: the
// caller opens the object again through the file's current core.
//
// Data the mount has loaded the layout of is served while another process
// writes, checked: before that process may write, the watcher loads the
// hash of every chunk slot of the raw_data objects alive (RawData::
// SetSlotHashes) and sets `checked_reads`; a read then hashes each chunk it
// reads as versioned-hdf5 does and compares (a delete moves chunks under
// it). A chunk that does not match waits for the writer like any other read.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "util/read_gate.h"
#include "vh5/mutex.h"
#include "vh5/status.h"

namespace vh5 {

class RawData;

struct FileState {
  std::shared_mutex disk_mu;
  ReadGate gate;
  std::atomic<uint64_t> generation{0};
  std::atomic<uint64_t> moved_generation{0};  // the generation of the last move of chunks
  std::chrono::milliseconds writer_wait{5000};
  // Set while the gate is closed for a writer and slot hashes are loaded.
  std::atomic<bool> checked_reads{false};
  // Every raw_data object opened through a core of the file, for the
  // watcher to load slot hashes into.
  Mutex raws_mu;
  std::vector<std::weak_ptr<RawData>> raws GUARDED_BY(raws_mu);
};

// A core's view of its FileState: which generation it reads.
struct DiskAccess {
  std::shared_ptr<FileState> state;  // nullptr: a private handle (commit, offline); no checks
  uint64_t generation = 0;
};

// Passes a file's gate (and for metadata holds its disk lock shared) for
// its life, unless this thread already does: reads nest (loading a dataset
// opens its raw_data, which reads through HDF5), and the watcher reads the
// file while it holds the gate closed. status() says whether the read may
// go on.
class DiskRead {
 public:
  // kChecked: data, which may be read while another process writes if the
  // caller checks every chunk (checked() says when it must).
  enum class Kind { kMetadata, kData, kChecked };
  DiskRead(const DiskAccess& access, Kind kind, const std::string& context = "");
  ~DiskRead();
  DiskRead(const DiskRead&) = delete;
  DiskRead& operator=(const DiskRead&) = delete;
  const Status& status() const { return status_; }
  // The read goes on while another process writes: check each chunk.
  bool checked() const { return checked_; }

  // What this thread has passed, for threads it starts and joins before it
  // lets go (a read decoding chunks on every core): they Adopt it.
  struct Passes {
    std::vector<const FileState*> passed, shared, checking;
  };
  static Passes Current() { return Passes{Passed(), Shared(), Checking()}; }
  class Adopt {
   public:
    explicit Adopt(const Passes& passes);
    ~Adopt();
    Adopt(const Adopt&) = delete;
    Adopt& operator=(const Adopt&) = delete;

   private:
    Passes saved_;
  };

  // Marks this thread as holding `state`'s gate closed for the life of the
  // object: its reads pass at once.
  class Owner {
   public:
    explicit Owner(FileState* state);
    ~Owner();
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;

   private:
    FileState* state_;
  };

 private:
  // The states whose gate this thread has passed (or holds closed), and
  // those whose disk_mu it holds shared.
  static std::vector<const FileState*>& Passed();
  static std::vector<const FileState*>& Shared();
  static std::vector<const FileState*>& Checking();  // passed a closed gate, checked
  FileState* passed_ = nullptr;                      // set when this object passed the gate
  FileState* shared_ = nullptr;                      // set when this object holds disk_mu shared
  FileState* checking_ = nullptr;  // set when this object passed a closed gate, checked
  bool checked_ = false;
  Status status_;
};

}  // namespace vh5
