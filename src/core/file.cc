#include "steadyeye/core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace steadyeye {
namespace fs = std::filesystem;

namespace {

Status ErrnoError(const std::string& what, const fs::path& path) {
  const int err = errno;
  const std::string msg = what + " " + path.string() + ": " + std::strerror(err);
  if (err == ENOENT) return NotFoundError(msg);
  if (err == ENOSPC) return ResourceExhaustedError(msg);
  return InvalidArgumentError(msg);
}

Status WriteAll(int fd, std::span<const uint8_t> bytes, const fs::path& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<uint8_t>> ReadFileBytes(const fs::path& path, uint64_t max_bytes) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return NotFoundError("no such file: " + path.string());
  if (fs::is_directory(status)) return InvalidArgumentError(path.string() + " is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("cannot open", path);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  if (size > max_bytes) {
    return OutOfRangeError(path.string() + " is " + std::to_string(size) +
                           " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  in.seekg(0);
  std::vector<uint8_t> bytes(size);
  if (size > 0 &&
      !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    return DataLossError("short read from " + path.string());
  }
  return bytes;
}

Status WriteFileAtomic(const fs::path& path, std::span<const uint8_t> bytes,
                       Durability durability) {
  const bool sync = durability == Durability::kPowerLoss;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return InvalidArgumentError("cannot create directory " + dir.string() + ": " + ec.message());
  fs::path tmp = path;
  // Unique per process and call, so concurrent writers never share a temporary file.
  static std::atomic<uint64_t> counter{0};
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  Status st = WriteAll(fd, bytes, tmp);
  if (st.ok() && sync && ::fsync(fd) != 0) st = ErrnoError("cannot fsync", tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = ErrnoError("cannot rename onto", path);
  if (!st.ok()) {
    fs::remove(tmp, ec);
    return st;
  }
  if (!sync) return Status::Ok();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Status WriteFileAtomic(const fs::path& path, const std::string& text, Durability durability) {
  return WriteFileAtomic(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      durability);
}

}  // namespace steadyeye
