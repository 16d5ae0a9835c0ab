// The Python library's version timestamps ("%Y-%m-%d %H:%M:%S.%f%z").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vh5 {

// Nanoseconds since the Unix epoch; nullopt when `text` is not of that form.
// The fraction and the zone are optional (a missing zone means UTC).
std::optional<int64_t> ParseTimestamp(std::string_view text);

// The stored form of `ns_since_epoch`, in UTC: "2024-01-01 13:00:00.000001+0000".
std::string FormatTimestamp(int64_t ns_since_epoch);

// The stored form of the present moment.
std::string NowTimestamp();

}  // namespace vh5
