#include "steadyeye/core/time.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace steadyeye {

std::string UtcNowIso8601() { return FormatUnixMillis(UnixMillisNow() / 1000 * 1000); }

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatUnixMillis(int64_t millis) {
  const int64_t ms = ((millis % 1000) + 1000) % 1000;
  const std::time_t seconds = std::time_t((millis - ms) / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (ms != 0) {
    char frac[8];
    std::snprintf(frac, sizeof(frac), ".%03d", int(ms));
    out += frac;
  }
  return out + "Z";
}

StatusOr<int64_t> ParseTimestamp(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentError(
        "timestamp '" + std::string(text.substr(0, 64)) +
        "' is neither ISO 8601 UTC (2026-11-29T04:22:37Z) nor epoch milliseconds");
  };
  if (text.empty()) return bad();
  int64_t number = 0;
  if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      ec == std::errc() && end == text.data() + text.size()) {
    return number;
  }
  std::tm tm{};
  int consumed = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return bad();
  }
  if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return bad();
  }
  std::string_view rest = text.substr(size_t(consumed));
  int64_t ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t digits = 1;
    int64_t scale = 100;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      ms += (rest[digits] - '0') * scale;
      scale /= 10;
      ++digits;
    }
    if (digits == 1) return bad();
    rest.remove_prefix(digits);
  }
  if (rest != "Z" && rest != "+00:00") return bad();
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return int64_t(timegm(&tm)) * 1000 + ms;
}

}  // namespace steadyeye
