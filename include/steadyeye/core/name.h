// Names that users choose and that end up in file names, URLs and metrics labels: sites,
// cameras, token names.
#pragma once

#include <string>

#include "steadyeye/core/status.h"

namespace steadyeye {

// OK for 1-64 characters of letters, digits, '.', '_' or '-' (and not "." or ".."); otherwise
// InvalidArgument naming `what` and the rule.
Status ValidateName(const std::string& name, const char* what);

}  // namespace steadyeye
