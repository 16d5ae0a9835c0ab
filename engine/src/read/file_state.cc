#include "read/file_state.h"

namespace vh5 {
namespace {

bool Contains(const std::vector<const FileState*>& list, const FileState* state) {
  return std::find(list.begin(), list.end(), state) != list.end();
}

void Remove(std::vector<const FileState*>* list, const FileState* state) {
  list->erase(std::find(list->begin(), list->end(), state));
}

std::string Prefix(const std::string& context) { return context.empty() ? "" : context + ": "; }

}  // namespace

std::vector<const FileState*>& DiskRead::Passed() {
  thread_local std::vector<const FileState*> passed;
  return passed;
}

std::vector<const FileState*>& DiskRead::Checking() {
  thread_local std::vector<const FileState*> checking;
  return checking;
}

std::vector<const FileState*>& DiskRead::Shared() {
  thread_local std::vector<const FileState*> shared;
  return shared;
}

DiskRead::DiskRead(const DiskAccess& access, Kind kind, const std::string& context) {
  FileState* state = access.state.get();
  if (state == nullptr) return;
  if (kind == Kind::kMetadata && Contains(Checking(), state)) {
    // Past a closed gate only data may be read, and checked: the metadata
    // may be half written.
    status_ = Status::TryAgain(Prefix(context) + "another process is writing the file");
    return;
  }
  if (!Contains(Passed(), state)) {
    bool may_check = kind == Kind::kChecked && state->checked_reads.load(std::memory_order_acquire);
    if (state->gate.Enter(may_check ? std::chrono::milliseconds(0) : state->writer_wait)) {
      passed_ = state;
    } else if (may_check) {
      // Past the closed gate, as its owner is: nested reads pass too.
      checked_ = true;
      checking_ = state;
      Checking().push_back(state);
    } else {
      status_ = Status::TryAgain(
          Prefix(context) + "another process has been writing the file for " +
          std::to_string(state->writer_wait.count() / 1000) + " s; try again when it is done");
      return;
    }
    Passed().push_back(state);
  }
  if (kind == Kind::kMetadata && !Contains(Shared(), state)) {
    state->disk_mu.lock_shared();
    shared_ = state;
    Shared().push_back(state);
  }
  uint64_t now = kind == Kind::kMetadata ? state->generation.load(std::memory_order_acquire)
                                         : state->moved_generation.load(std::memory_order_acquire);
  if (kind == Kind::kMetadata ? access.generation != now : access.generation < now)
    status_ = Status::Stale(Prefix(context) +
                            "the file was changed by another process since this was read");
}

DiskRead::~DiskRead() {
  if (checking_) {
    Remove(&Passed(), checking_);
    Remove(&Checking(), checking_);
  }
  if (shared_) {
    shared_->disk_mu.unlock_shared();
    Remove(&Shared(), shared_);
  }
  if (passed_) {
    Remove(&Passed(), passed_);
    passed_->gate.Exit();
  }
}

DiskRead::Adopt::Adopt(const Passes& passes) : saved_(Current()) {
  Passed() = passes.passed;
  Shared() = passes.shared;
  Checking() = passes.checking;
}

DiskRead::Adopt::~Adopt() {
  Passed() = std::move(saved_.passed);
  Shared() = std::move(saved_.shared);
  Checking() = std::move(saved_.checking);
}

DiskRead::Owner::Owner(FileState* state) : state_(state) { Passed().push_back(state_); }

DiskRead::Owner::~Owner() { Remove(&Passed(), state_); }

}  // namespace vh5
