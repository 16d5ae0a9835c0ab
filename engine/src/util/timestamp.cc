#include "vh5/timestamp.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace vh5 {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != ' ' && s[10] != 'T') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec))
    return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Nanoseconds since 1970 in 64 bits reach 1677-09-21 to 2262-04-11: a
  // day outside that range (a year 9999 in a damaged file) has no value.
  int64_t days = sys_days(ymd).time_since_epoch().count();
  constexpr int64_t kMaxDays = 106750;
  if (days > kMaxDays || days < -kMaxDays) return std::nullopt;
  int64_t ns = days * 86400LL * 1000000000LL + ((h * 60LL + mi) * 60 + sec) * 1000000000LL;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t frac = 0, scale = 1000000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 1) {
        scale /= 10;
        frac += (s[pos] - '0') * scale;
      }
      ++pos;
    }
    ns += frac;
  }
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) return ns;
    int zh, zm;
    if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
    int sign = s[pos] == '-' ? -1 : 1;
    size_t mpos = pos + 3;
    if (!Digits(s, pos + 1, 2, &zh)) return std::nullopt;
    if (mpos < s.size() && s[mpos] == ':') ++mpos;
    if (!Digits(s, mpos, 2, &zm) || mpos + 2 != s.size()) return std::nullopt;
    ns -= sign * (zh * 60LL + zm) * 60 * 1000000000LL;
  }
  return ns;
}

namespace {

// `ns` in UTC as "%Y-%m-%d<sep>%H:%M:%S.<fraction><zone>", the fraction in
// microseconds, or in nanoseconds when `nine_digits`.
std::string FormatUtc(int64_t ns, char sep, bool nine_digits, const char* zone) {
  using namespace std::chrono;
  int64_t secs = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);
  int64_t frac = ns - secs * 1000000000;
  if (!nine_digits) frac /= 1000;
  sys_seconds tp{seconds(secs)};
  sys_days day_point = floor<days>(tp);
  year_month_day ymd(day_point);
  hh_mm_ss<seconds> hms(tp - day_point);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u%c%02lld:%02lld:%02lld.%0*lld%s",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), sep, static_cast<long long>(hms.hours().count()),
                static_cast<long long>(hms.minutes().count()),
                static_cast<long long>(hms.seconds().count()), nine_digits ? 9 : 6,
                static_cast<long long>(frac), zone);
  return buf;
}

}  // namespace

std::string FormatTimestamp(int64_t ns) { return FormatUtc(ns, ' ', false, "+0000"); }

std::string IsoTimestamp(int64_t ns) {
  int64_t sub_micro = ns % 1000;
  return FormatUtc(ns, 'T', sub_micro != 0, "Z");
}

std::optional<int64_t> ParseMoment(std::string_view text) {
  if (!text.empty() && text[0] == '@') {
    // Seconds since the epoch, as date(1) reads them: [-]S[.F].
    std::string_view s = text.substr(1);
    bool negative = !s.empty() && s[0] == '-';
    if (negative || (!s.empty() && s[0] == '+')) s.remove_prefix(1);
    size_t dot = s.find('.');
    std::string_view whole = s.substr(0, dot);
    if (whole.empty() || whole.size() > 11) return std::nullopt;
    int64_t ns = 0;
    for (char c : whole) {
      if (c < '0' || c > '9') return std::nullopt;
      ns = ns * 10 + (c - '0');
    }
    ns *= 1000000000;
    if (dot != std::string_view::npos) {
      std::string_view frac = s.substr(dot + 1);
      if (frac.empty()) return std::nullopt;
      int64_t scale = 1000000000;
      for (char c : frac) {
        if (c < '0' || c > '9') return std::nullopt;
        if (scale > 1) {
          scale /= 10;
          ns += (c - '0') * scale;
        }
      }
    }
    constexpr int64_t kMaxSeconds = 9223372036LL;  // what 64-bit nanoseconds hold
    if (ns / 1000000000 >= kMaxSeconds) return std::nullopt;
    return negative ? -ns : ns;
  }
  // The stored form wants seconds and a zone with minutes: fill in what
  // ISO 8601 lets a user leave out, then read it as a stored timestamp.
  std::string s(text);
  if (s.size() == 10) s += "T00:00:00";
  if (s.size() >= 16 && (s.size() == 16 || s[16] != ':')) s.insert(16, ":00");
  size_t zone = s.find_first_of("+-", 19);
  if (zone != std::string::npos && s.size() - zone == 3) s += "00";  // "+01"
  return ParseTimestamp(s);
}

std::string NowTimestamp() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return FormatTimestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
}

}  // namespace vh5
