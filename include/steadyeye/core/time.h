// Wall-clock time as the store and the API speak it: milliseconds since the Unix epoch (UTC),
// shown as ISO 8601 ("2026-11-29T04:22:37Z" or with ".123" milliseconds).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "steadyeye/core/status.h"

namespace steadyeye {

// Current UTC time as "2026-11-28T21:56:04Z".
std::string UtcNowIso8601();

// Milliseconds since the Unix epoch, now.
int64_t UnixMillisNow();

// "2026-11-29T04:22:37.123Z" (milliseconds omitted when zero).
std::string FormatUnixMillis(int64_t millis);

// Accepts ISO 8601 UTC ("2026-11-29T04:22:37Z", optional ".fff" fraction, "Z" or "+00:00") or
// an integer count of milliseconds since the epoch. InvalidArgument otherwise.
StatusOr<int64_t> ParseTimestamp(std::string_view text);

}  // namespace steadyeye
