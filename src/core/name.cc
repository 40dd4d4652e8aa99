#include "steadyeye/core/name.h"

#include <algorithm>
#include <cctype>

namespace steadyeye {

Status ValidateName(const std::string& name, const char* what) {
  const bool ok = !name.empty() && name.size() <= 64 &&
                  std::all_of(name.begin(), name.end(),
                              [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                                       c == '_' || c == '-';
                              }) &&
                  name != "." && name != "..";
  if (!ok) {
    return InvalidArgumentError(std::string(what) + " '" + name.substr(0, 80) +
                                "' must be 1-64 characters of letters, digits, '.', '_' or '-'");
  }
  return Status::Ok();
}

}  // namespace steadyeye
