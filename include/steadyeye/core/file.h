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

// What a completed write must survive.
enum class Durability {
  kPowerLoss,     // fsync the file and its directory (milliseconds per file)
  kProcessCrash,  // the kernel's page cache holds it: survives kill -9, not a power cut
};

// Writes to a temporary file beside `path` and renames it over `path` (fsyncing the file and
// the directory for kPowerLoss): after OK the new content survives what `durability` names,
// and a reader never sees a half-written file. Thread-safe for distinct paths.
Status WriteFileAtomic(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                       Durability durability = Durability::kPowerLoss);
Status WriteFileAtomic(const std::filesystem::path& path, const std::string& text,
                       Durability durability = Durability::kPowerLoss);

}  // namespace steadyeye
