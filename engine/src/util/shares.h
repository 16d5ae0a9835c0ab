// Work split in shares over threads: share 0 on the calling thread, each
// other on a thread of its own (or on the calling thread when no thread can
// be had), all joined before RunShares returns.
#pragma once

#include <cstddef>
#include <functional>

#include "vh5/status.h"

namespace vh5 {

// Runs share(0) to share(count - 1); the first failure, by share, or OK.
// `share` must not throw.
Status RunShares(size_t count, const std::function<Status(size_t)>& share);

}  // namespace vh5
