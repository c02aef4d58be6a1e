// jsonlog (PostgreSQL 15+): one JSON object per line, read with
// nlohmann-json's SAX parser so that no document is built: only the
// top-level keys ParseJsonLogLine knows are kept.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "serverlog/log_entry.h"
#include "util/utf8.h"

namespace pgconn {
namespace {

using Json = nlohmann::json;

// PostgreSQL writes a flat object; anything nested deeper than this is not
// its jsonlog and is refused before the parser's own stack grows with it.
constexpr int kMaxJsonDepth = 16;

// The SAX events of one line, into a LogEntry. Values of the top-level
// object are kept as text (numbers as written, true/false/null spelled
// out); nested objects and arrays are skipped. A top level that is not an
// object ends the parse. A key given twice keeps its last value.
class JsonLogHandler {
 public:
  explicit JsonLogHandler(LogEntry* entry) : entry_(entry) {}

  bool has_severity() const { return has_severity_; }

  bool null() { return Scalar("null"); }
  bool boolean(bool v) { return Scalar(v ? "true" : "false"); }
  bool number_integer(Json::number_integer_t v) {
    return Scalar(std::to_string(v));
  }
  bool number_unsigned(Json::number_unsigned_t v) {
    return Scalar(std::to_string(v));
  }
  bool number_float(Json::number_float_t, const Json::string_t& text) {
    return Scalar(text);
  }
  bool string(Json::string_t& v) { return Scalar(std::move(v)); }
  bool binary(Json::binary_t&) { return false; }  // not in JSON text
  bool start_object(std::size_t) { return ++depth_ <= kMaxJsonDepth; }
  bool start_array(std::size_t) {
    return depth_ > 0 && ++depth_ <= kMaxJsonDepth;
  }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(Json::string_t& k) {
    if (depth_ == 1) key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) {
    return false;
  }

 private:
  bool Close() {
    --depth_;
    return true;
  }

  bool Scalar(std::string v) {
    if (depth_ == 0) return false;  // a bare value: not an object
    if (depth_ == 1) Keep(std::move(v));
    return true;
  }

  void Keep(std::string value) {
    if (key_ == "user") {
      entry_->user = std::move(value);
    } else if (key_ == "dbname") {
      entry_->database = std::move(value);
    } else if (key_ == "pid") {
      entry_->pid = std::move(value);
    } else if (key_ == "error_severity") {
      entry_->severity = std::move(value);
      has_severity_ = true;
    } else if (key_ == "state_code") {
      entry_->sqlstate = std::move(value);
    } else if (key_ == "message") {
      entry_->message = value.substr(0, value.find('\n'));
    }
  }

  LogEntry* entry_;
  std::string key_;
  int depth_ = 0;
  bool has_severity_ = false;
};

}  // namespace

std::optional<LogEntry> ParseJsonLogLine(std::string_view line) {
  // PostgreSQL copies names and messages in the server's encoding; a byte
  // that is not UTF-8 becomes U+FFFD (as it would in a label) rather than
  // costing the whole line, which the parser would refuse.
  std::string repaired;
  if (!IsValidUtf8(line)) {
    repaired = ToValidUtf8(line);
    line = repaired;
  }
  LogEntry e;
  JsonLogHandler handler(&e);
  bool ok = false;
  try {
    ok = Json::sax_parse(line.begin(), line.end(), &handler,
                         Json::input_format_t::json, /*strict=*/true);
  } catch (const std::exception&) {
    ok = false;  // only allocation could throw here
  }
  if (!ok || !handler.has_severity()) return std::nullopt;
  return e;
}

}  // namespace pgconn
