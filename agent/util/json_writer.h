// A small streaming JSON writer for the planner's --output json: objects,
// arrays, strings with RFC 8259 escaping, integers and finite doubles.
#ifndef PGCONN_AGENT_UTIL_JSON_WRITER_H_
#define PGCONN_AGENT_UTIL_JSON_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

// Pretty-prints with two-space indentation. The caller is trusted to nest
// correctly (Key() before each value in an object, matching End*() calls);
// a misuse trips an assert in debug builds. Not thread-safe.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  // Shortest text that reads back as the same double; NaN and infinities,
  // which JSON cannot express, become null.
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  JsonWriter& OptionalInt(const std::optional<int64_t>& value);

  // The document, ending with a newline.
  std::string Take();

 private:
  void BeforeValue();
  void Open(char bracket);
  void Close(char bracket);

  struct Level {
    bool object = false;
    int count = 0;
  };
  std::string out_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};

// `text` as a quoted JSON string. Control characters are escaped, and bytes
// that are not valid UTF-8 become U+FFFD, so the result is always valid JSON.
std::string JsonQuote(std::string_view text);

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_JSON_WRITER_H_
