#include "vh5/status.h"

namespace vh5 {

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kNotHdf5:
      return "NotHdf5";
    case Code::kNotVersioned:
      return "NotVersioned";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIOError:
      return "IOError";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kReadOnly:
      return "ReadOnly";
    case Code::kUnsupported:
      return "Unsupported";
    case Code::kExists:
      return "Exists";
    case Code::kBusy:
      return "Busy";
    case Code::kNoSpace:
      return "NoSpace";
    case Code::kNotADirectory:
      return "NotADirectory";
    case Code::kIsADirectory:
      return "IsADirectory";
    case Code::kNotEmpty:
      return "NotEmpty";
    case Code::kStale:
      return "Stale";
    case Code::kTryAgain:
      return "TryAgain";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  Status s = *this;
  s.message_ = std::string(context) + ": " + message_;
  return s;
}

}  // namespace vh5
