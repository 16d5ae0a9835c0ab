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

// A moment as a user names one (at/TIME): ISO 8601 dates and times
// ("2024-02-01", "2024-02-01T09:00", "2024-02-01T09:00:00.5Z",
// "2024-02-01 09:00:00+0100"; no zone means UTC) or "@SECONDS" since the
// epoch (a fraction and a sign allowed). Nanoseconds since the epoch, UTC.
std::optional<int64_t> ParseMoment(std::string_view text);

// The one ISO 8601 form at/ lists a moment in: "2024-02-01T09:00:00.000001Z"
// (nine digits of fraction when the microseconds do not say it all).
// ParseMoment reads it back to the same nanosecond.
std::string IsoTimestamp(int64_t ns_since_epoch);

}  // namespace vh5
