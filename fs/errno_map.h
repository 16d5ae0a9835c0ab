// The one place where engine Status codes become errno values.
#pragma once

#include "vh5/status.h"

namespace vh5fs {

int ErrnoFor(const vh5::Status& status);

}  // namespace vh5fs
