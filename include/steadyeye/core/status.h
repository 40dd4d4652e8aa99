// Errors as values. Every fallible library call returns Status or StatusOr<T>;
// exceptions from third-party libraries (LibTorch, OpenCV) are caught at our wrappers and
// turned into one of these codes with the cause in the message.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace steadyeye {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed (bad flag, bad image bytes, bad JSON)
  kNotFound,            // a named file, id or class does not exist
  kAlreadyExists,       // refusing to overwrite
  kFailedPrecondition,  // the system is not in a state where this works (e.g. wrong model type)
  kOutOfRange,          // a value is outside the allowed range (e.g. huge image dimensions)
  kDataLoss,            // stored data is damaged (checksum mismatch, truncated bundle)
  kResourceExhausted,   // queue full, disk full
  kUnavailable,         // a service is down; retrying may help
  kInternal,            // a bug or an unexpected failure inside a dependency
  kUnauthenticated,     // no credentials, or credentials that are not valid
  kPermissionDenied,    // valid credentials without the right to do this
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message"; "OK" for success.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with context ("loading x: <message>").
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}

// Holds either a value or a non-OK Status. Accessing value() of an error is a bug (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : value_(value) {}             // NOLINT: implicit by design
  StatusOr(T&& value) : value_(std::move(value)) {}       // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "StatusOr built from an OK status carries no value");
    if (status_.ok()) status_ = InternalError("StatusOr constructed from OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace steadyeye

#define SEYE_CONCAT_INNER(a, b) a##b
#define SEYE_CONCAT(a, b) SEYE_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
// The temporary's name carries the line, so that a lambda inside `expr` may use the macro too.
#define SEYE_RETURN_IF_ERROR(expr) \
  SEYE_RETURN_IF_ERROR_IMPL(SEYE_CONCAT(seye_status_, __LINE__), expr)
#define SEYE_RETURN_IF_ERROR_IMPL(tmp, expr) \
  do {                                       \
    ::steadyeye::Status tmp = (expr);        \
    if (!tmp.ok()) return tmp;               \
  } while (0)

// `lhs = value of expr` or return its error. lhs may declare a variable: `auto x`.
#define SEYE_ASSIGN_OR_RETURN(lhs, expr) \
  SEYE_ASSIGN_OR_RETURN_IMPL(SEYE_CONCAT(seye_statusor_, __LINE__), lhs, expr)
#define SEYE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
