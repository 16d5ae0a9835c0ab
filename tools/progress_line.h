// An operation's progress on standard error, when that is a terminal:
// "vh5 verify: hashing chunks 1200/4000 (30%)", redrawn at most ten times a
// second on one line, and erased once the operation ends. Nothing at all
// when standard error is not a terminal, so scripts and logs stay clean.
#pragma once

#include <chrono>
#include <string>

#include "vh5/progress.h"

namespace vh5tool {

class ProgressLine {
 public:
  explicit ProgressLine(std::string command);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // What the engine calls; empty when standard error is not a terminal.
  const vh5::Progress& callback() const { return callback_; }
  // Erases the line, if one is drawn.
  void Clear();

 private:
  void Draw(std::string_view stage, uint64_t done, uint64_t total);

  std::string command_;
  vh5::Progress callback_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

}  // namespace vh5tool
