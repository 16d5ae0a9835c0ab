// Progress of a long offline operation (verify, delete, repack), for a
// front-end to show: `done` of `total` units of `stage`, e.g. "hashing
// chunks" 120 of 4000. Called on the operating thread, often: a front-end
// throttles what it draws. An empty function is never called.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace vh5 {

using Progress = std::function<void(std::string_view stage, uint64_t done, uint64_t total)>;

}  // namespace vh5
