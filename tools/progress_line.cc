#include "progress_line.h"

#include <unistd.h>

#include <cstdio>

namespace vh5tool {

ProgressLine::ProgressLine(std::string command) : command_(std::move(command)) {
  if (::isatty(STDERR_FILENO))
    callback_ = [this](std::string_view stage, uint64_t done, uint64_t total) {
      Draw(stage, done, total);
    };
}

ProgressLine::~ProgressLine() { Clear(); }

void ProgressLine::Draw(std::string_view stage, uint64_t done, uint64_t total) {
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done + 1 < total) return;
  last_ = now;
  if (done > total) done = total;
  std::fprintf(stderr, "\r\033[Kvh5 %s: %.*s %llu/%llu (%llu%%)", command_.c_str(),
               static_cast<int>(stage.size()), stage.data(), static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total),
               static_cast<unsigned long long>(total ? done * 100 / total : 100));
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace vh5tool
