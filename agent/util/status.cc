#include "pgconn/status.h"

namespace pgconn {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kIoError:
      return "io_error";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kUnauthenticated:
      return "unauthenticated";
    case StatusCode::kTooManyClients:
      return "too_many_clients";
    case StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case StatusCode::kConnectionLost:
      return "connection_lost";
    case StatusCode::kQueryFailed:
      return "query_failed";
    case StatusCode::kInvalidData:
      return "invalid_data";
    case StatusCode::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view prefix) const {
  if (ok()) return *this;
  std::string m(prefix);
  m += ": ";
  m += message_;
  return {code_, std::move(m)};
}

}  // namespace pgconn
