// The streaming interface the planner's --output json, the status API, the
// discovery endpoint and the JSON log lines write through. The document is
// built and printed by nlohmann-json; what is ours is only the call shape
// (Key/value calls in order, as the documents are naturally written) and
// the one rule no library has: bytes that are not UTF-8 become U+FFFD once
// per bad byte, so "a\xff\xfe" and "a\xff" stay distinct.
#ifndef PGCONN_AGENT_UTIL_JSON_WRITER_H_
#define PGCONN_AGENT_UTIL_JSON_WRITER_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

// Pretty-prints with two-space indentation (nlohmann-json's dump(2)), keys
// in the order they were written. The caller is trusted to nest correctly
// (Key() before each value in an object, matching End*() calls); a misuse
// trips an assert in debug builds. Not thread-safe.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  // NaN and infinities, which JSON cannot express, become null.
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  JsonWriter& OptionalInt(const std::optional<int64_t>& value);

  // The document, ending with a newline.
  std::string Take();

 private:
  using Json = nlohmann::ordered_json;
  // Places `value` where the next value goes and returns it there.
  Json& Put(Json value);

  Json root_;
  std::vector<Json*> open_;  // the containers not yet ended, innermost last
  std::optional<std::string> key_;
};

// `text` as a quoted JSON string. Control characters are escaped, and bytes
// that are not valid UTF-8 become U+FFFD, so the result is always valid JSON.
std::string JsonQuote(std::string_view text);

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_JSON_WRITER_H_
