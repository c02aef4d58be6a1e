#include "util/json_writer.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "util/utf8.h"

namespace pgconn {

// nlohmann-json escapes each well-formed run exactly as we always have
// (tests/util/json_writer_test.cc proves it). What no library does is ours:
// the escape \ufffd once per byte that is not UTF-8, so "a\xff\xfe" and
// "a\xff" stay distinct.
std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  while (!text.empty()) {
    size_t run = 0;
    while (run < text.size()) {
      const size_t n = Utf8SequenceLength(text.substr(run));
      if (n == 0) break;
      run += n;
    }
    if (run == 0) {
      out += "\\ufffd";
      text.remove_prefix(1);
      continue;
    }
    const std::string quoted =
        nlohmann::json(std::string(text.substr(0, run))).dump();
    out.append(quoted, 1, quoted.size() - 2);
    text.remove_prefix(run);
  }
  out += '"';
  return out;
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  assert(!stack_.back().object && "a value in an object needs a Key()");
  if (stack_.back().count++ > 0) out_ += ',';
  out_ += '\n';
  out_.append(2 * stack_.size(), ' ');
}

void JsonWriter::Open(char bracket) {
  BeforeValue();
  out_ += bracket;
  stack_.push_back({bracket == '{', 0});
}

void JsonWriter::Close(char bracket) {
  assert(!stack_.empty() && !after_key_);
  const bool had_members = stack_.back().count > 0;
  stack_.pop_back();
  if (had_members) {
    out_ += '\n';
    out_.append(2 * stack_.size(), ' ');
  }
  out_ += bracket;
}

JsonWriter& JsonWriter::BeginObject() {
  Open('{');
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  Close('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Open('[');
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  Close(']');
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  assert(!stack_.empty() && stack_.back().object && !after_key_);
  if (stack_.back().count++ > 0) out_ += ',';
  out_ += '\n';
  out_.append(2 * stack_.size(), ' ');
  out_ += JsonQuote(key);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  out_ += JsonQuote(value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, ec == std::errc() ? end : buf);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::OptionalInt(const std::optional<int64_t>& value) {
  return value ? Int(*value) : Null();
}

std::string JsonWriter::Take() {
  assert(stack_.empty());
  std::string out = std::move(out_);
  out += '\n';
  out_.clear();
  return out;
}

}  // namespace pgconn
