#include "errno_map.h"

#include <cerrno>

namespace vh5fs {

int ErrnoFor(const vh5::Status& status) {
  using Code = vh5::Status::Code;
  switch (status.code()) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kNotHdf5:
    case Code::kNotVersioned:
    case Code::kCorruption:
      return EIO;
    case Code::kIOError:
      return EIO;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kReadOnly:
      return EROFS;
    case Code::kUnsupported:
      return EOPNOTSUPP;
    case Code::kExists:
      return EEXIST;
    case Code::kBusy:
      return EBUSY;
    case Code::kNoSpace:
      return ENOSPC;
    case Code::kNotADirectory:
      return ENOTDIR;
    case Code::kIsADirectory:
      return EISDIR;
    case Code::kNotEmpty:
      return ENOTEMPTY;
    case Code::kStale:
      return ESTALE;
    case Code::kTryAgain:
      return EAGAIN;
  }
  return EIO;
}

}  // namespace vh5fs
