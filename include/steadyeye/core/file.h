// Whole-file I/O with errors as values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye {

// Reads the whole file. NotFound if it does not exist; OutOfRange if larger than max_bytes.
StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& path,
                                             uint64_t max_bytes = uint64_t{1} << 34);

// Writes to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
// directory: after OK, the new content survives a crash or kill -9, and a reader never sees a
// half-written file.
Status WriteFileAtomic(const std::filesystem::path& path, std::span<const uint8_t> bytes);
Status WriteFileAtomic(const std::filesystem::path& path, const std::string& text);

}  // namespace steadyeye
