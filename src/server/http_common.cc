#include "http_common.h"

namespace steadyeye::internal {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kOutOfRange:
      return 413;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const Status& st) {
  const int status = HttpStatusFor(st.code());
  if (status == 429) res.set_header("Retry-After", "1");
  if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
  SendJson(res, status,
           {{"error", {{"code", StatusCodeName(st.code())}, {"message", st.message()}}}});
}

std::optional<std::string> Query(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

StatusOr<int64_t> ParseInteger(const std::string& text, const char* what) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return int64_t(v);
  } catch (const std::exception&) {
  }
  return InvalidArgumentError(std::string(what) + " must be an integer, got '" +
                              text.substr(0, 40) + "'");
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

StatusOr<nlohmann::json> JsonBody(const httplib::Request& req) {
  auto json = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError("the body is not valid JSON");
  if (!json.is_object()) return InvalidArgumentError("the body must be a JSON object");
  return json;
}

}  // namespace steadyeye::internal
