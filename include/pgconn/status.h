// Errors as values. The runtime path (poll loop, collectors, HTTP handlers)
// returns Status or Result<T> and never throws; exceptions from libraries are
// caught where we call them and converted here.
#ifndef PGCONN_STATUS_H_
#define PGCONN_STATUS_H_

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pgconn {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // bad configuration or flag value
  kNotFound,          // a file, column or key that must exist does not
  kIoError,           // a file could not be read
  kUnavailable,       // the server could not be reached
  kUnauthenticated,   // the server refused our credentials
  kTooManyClients,    // the server refused us for lack of connection slots
  kDeadlineExceeded,  // a connect or query took longer than allowed
  kConnectionLost,    // an established connection broke
  kQueryFailed,       // the server answered a statement with an error
  kInvalidData,       // the server answered with something we cannot parse
  kInternal,          // a bug in pgconn
};

// Immutable value: an OK marker or a code with a human-readable message.
// Thread-compatible (const methods may be called concurrently).
class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) {
    return {StatusCode::kNotFound, std::move(m)};
  }
  static Status IoError(std::string m) {
    return {StatusCode::kIoError, std::move(m)};
  }
  static Status Unavailable(std::string m) {
    return {StatusCode::kUnavailable, std::move(m)};
  }
  static Status InvalidData(std::string m) {
    return {StatusCode::kInvalidData, std::move(m)};
  }
  static Status Internal(std::string m) {
    return {StatusCode::kInternal, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>".
  Status WithContext(std::string_view prefix) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Lowercase snake_case name of a code ("too_many_clients"); used as the
// `reason` label of pgconn_poll_errors_total.
std::string_view StatusCodeName(StatusCode code);

// Either a value or a non-OK Status. Modelled on absl::StatusOr.
//
// An OK status is no error and carries no value: in every build type (not
// only where assert() is compiled in), a Result made from one holds an
// internal error instead, so that ok() is never true without a value.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status)                      // NOLINT
      : v_(status.ok() ? OkIsNoResult() : std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  static Status OkIsNoResult() {
    return Status::Internal("a Result was made from an OK status (a bug)");
  }
  std::variant<T, Status> v_;
};

}  // namespace pgconn

#endif  // PGCONN_STATUS_H_
