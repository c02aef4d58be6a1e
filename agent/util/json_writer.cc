#include "util/json_writer.h"

#include <cassert>
#include <cmath>
#include <utility>

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

nlohmann::ordered_json& JsonWriter::Put(Json value) {
  if (open_.empty()) {
    root_ = std::move(value);
    return root_;
  }
  Json& parent = *open_.back();
  if (parent.is_object()) {
    assert(key_ && "a value in an object needs a Key()");
    Json& slot = parent[*key_];
    key_.reset();
    slot = std::move(value);
    return slot;
  }
  assert(!key_ && "Key() outside an object");
  parent.push_back(std::move(value));
  return parent.back();
}

// A container's address stays put while it is open: its parent gets no other
// member until it is ended.
JsonWriter& JsonWriter::BeginObject() {
  open_.push_back(&Put(Json::object()));
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  assert(!open_.empty() && open_.back()->is_object() && !key_);
  open_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  open_.push_back(&Put(Json::array()));
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  assert(!open_.empty() && open_.back()->is_array());
  open_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  assert(!open_.empty() && open_.back()->is_object() && !key_);
  key_ = ToValidUtf8(key);
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  Put(ToValidUtf8(value));
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  Put(value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  Put(std::isfinite(value) ? Json(value) : Json(nullptr));
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  Put(value);
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Put(nullptr);
  return *this;
}

JsonWriter& JsonWriter::OptionalInt(const std::optional<int64_t>& value) {
  return value ? Int(*value) : Null();
}

std::string JsonWriter::Take() {
  assert(open_.empty() && !key_);
  std::string out = root_.dump(2);
  out += '\n';
  root_ = Json();
  return out;
}

}  // namespace pgconn
