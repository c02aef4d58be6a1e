#include "util/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgconn {
namespace {

TEST(JsonWriterTest, QuotesAndEscapes) {
  struct Case {
    std::string in, want;
  };
  const std::vector<Case> cases = {
      {"plain", "\"plain\""},
      {"", "\"\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\""},
      {std::string("nul\0x", 5), "\"nul\\u0000x\""},
      {"\x1f\x7f", "\"\\u001f\x7f\""},
      {"/", "\"/\""},
      {"caf\xc3\xa9 \xe2\x9c\x85 \xf0\x9f\x90\x98",
       "\"caf\xc3\xa9 \xe2\x9c\x85 \xf0\x9f\x90\x98\""},
      // Not UTF-8: a lone continuation byte, a truncated sequence, an
      // overlong '/', a UTF-16 surrogate, a byte that never starts one.
      {"a\x80z", "\"a\\ufffdz\""},
      {"\xe2\x9c", "\"\\ufffd\\ufffd\""},
      {"\xc0\xaf", "\"\\ufffd\\ufffd\""},
      {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
      {"\xff", "\"\\ufffd\""},
  };
  for (const Case& c : cases) EXPECT_EQ(JsonQuote(c.in), c.want) << c.in;
}

TEST(JsonWriterTest, WritesNestedDocuments) {
  JsonWriter w;
  w.BeginObject();
  w.Key("total_connections").Int(100);
  w.Key("utilization_ratio").Double(100.0 / 97);
  w.Key("headroom_ratio").Double(0.8);
  w.Key("verdict").String("over_limit");
  w.Key("pool_max").OptionalInt(std::nullopt);
  w.Key("fits").Bool(false);
  w.Key("empty").BeginArray().EndArray();
  w.Key("none").BeginObject().EndObject();
  w.Key("options").BeginArray();
  w.BeginObject()
      .Key("kind")
      .String("reduce_pool_max")
      .Key("pool_max")
      .OptionalInt(7)
      .EndObject();
  w.Int(-3);
  w.Null();
  w.EndArray();
  w.EndObject();
  EXPECT_EQ(w.Take(),
            "{\n"
            "  \"total_connections\": 100,\n"
            "  \"utilization_ratio\": 1.0309278350515463,\n"
            "  \"headroom_ratio\": 0.8,\n"
            "  \"verdict\": \"over_limit\",\n"
            "  \"pool_max\": null,\n"
            "  \"fits\": false,\n"
            "  \"empty\": [],\n"
            "  \"none\": {},\n"
            "  \"options\": [\n"
            "    {\n"
            "      \"kind\": \"reduce_pool_max\",\n"
            "      \"pool_max\": 7\n"
            "    },\n"
            "    -3,\n"
            "    null\n"
            "  ]\n"
            "}\n");
}

TEST(JsonWriterTest, NonFiniteNumbersBecomeNull) {
  JsonWriter w;
  w.BeginArray()
      .Double(std::numeric_limits<double>::infinity())
      .Double(-std::numeric_limits<double>::infinity())
      .Double(std::nan(""))
      .Double(1e21)
      .Double(0)
      .EndArray();
  EXPECT_EQ(w.Take(), "[\n  null,\n  null,\n  null,\n  1e+21,\n  0.0\n]\n");
}

// The writer hands its document to nlohmann-json, whose dump() prints it:
// the same text as building the document with the library directly.
using OrderedJson = nlohmann::ordered_json;

std::string WrittenDouble(double v) {
  JsonWriter w;
  w.Double(v);
  std::string out = w.Take();
  out.pop_back();  // the newline
  return out;
}

TEST(JsonWriterTest, PrintsWhatTheLibraryPrints) {
  JsonWriter w;
  w.BeginObject();
  w.Key("int_min").Int(std::numeric_limits<int64_t>::min());
  w.Key("int_max").Int(std::numeric_limits<int64_t>::max());
  w.Key("zero").Int(0);
  w.Key("yes").Bool(true);
  w.Key("none").Null();
  w.Key("empty_array").BeginArray().EndArray();
  w.Key("empty_object").BeginObject().EndObject();
  w.Key("nested").BeginArray();
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().Int(2).EndArray();
  w.EndObject();
  w.String("x");
  w.EndArray();
  w.Key("z_after_a").Int(3);  // keys stay in the order written
  w.EndObject();

  OrderedJson j = OrderedJson::object();
  j["int_min"] = std::numeric_limits<int64_t>::min();
  j["int_max"] = std::numeric_limits<int64_t>::max();
  j["zero"] = 0;
  j["yes"] = true;
  j["none"] = nullptr;
  j["empty_array"] = OrderedJson::array();
  j["empty_object"] = OrderedJson::object();
  j["nested"] = OrderedJson::array(
      {OrderedJson{{"a", 1}, {"b", OrderedJson::array({2})}}, "x"});
  j["z_after_a"] = 3;
  EXPECT_EQ(w.Take(), j.dump(2) + "\n");
}

// Doubles are the library's shortest round-trip text: an integral value
// keeps ".0" (it was a double), small and large values stay fixed where
// that is shorter to read back.
TEST(JsonWriterTest, DoublesReadBackExactly) {
  for (double v : {0.5, 0.8, 100.0 / 97, 0.1 + 0.2, 2.0 / 3, 0.00012, 0.0001,
                   1e-5, 1.5e-5, 123456.789, 1765134608.123, 1e5, 86400.0, 1e15,
                   1e21, 5e-324, 1e300, -0.0}) {
    const std::string text = WrittenDouble(v);
    EXPECT_EQ(nlohmann::json::parse(text).get<double>(), v) << text;
    EXPECT_EQ(text, OrderedJson(v).dump()) << v;
  }
  EXPECT_EQ(WrittenDouble(1.0), "1.0");
  EXPECT_EQ(WrittenDouble(0.0001), "0.0001");
  EXPECT_EQ(WrittenDouble(1e5), "100000.0");
}

// Bytes that are not UTF-8 (names on a SQL_ASCII or LATIN1 cluster, target
// names) become U+FFFD once per bad byte before the library sees them (its
// own handlers throw, drop the bytes, or replace a whole bad run at once),
// in values and in keys alike; the document is always valid JSON.
TEST(JsonWriterTest, NotUtf8BecomesOneReplacementPerBadByte) {
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  JsonWriter w;
  w.BeginObject();
  w.Key("a\x80z").String("\xe2\x9c");
  w.Key("list")
      .BeginArray()
      .String(
          "\xe2\x9c"
          "A")
      .String("\xff")
      .EndArray();
  w.EndObject();
  const std::string out = w.Take();
  EXPECT_EQ(out, "{\n  \"a" + r + "z\": \"" + r + r +
                     "\",\n  \"list\": [\n    \"" + r + r + "A\",\n    \"" + r +
                     "\"\n  ]\n}\n");
  const auto parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed["a" + r + "z"], r + r);
}

TEST(JsonQuoteTest, SameEscapingAsTheLibraryForValidUtf8) {
  std::string every_control;
  for (int c = 0; c < 0x20; ++c) every_control += static_cast<char>(c);
  const std::vector<std::string> names = {
      "",
      "plain",
      "say \"hi\" back\\slash /",
      every_control,
      "\x7f",
      "caf\xc3\xa9 \xe2\x9c\x85 \xf0\x9f\x90\x98",
      "\xef\xbf\xbd",                         // U+FFFD itself
      "\xf4\x8f\xbf\xbf",                     // U+10FFFF
      "app'); DROP TABLE x; --\u2028\u2029",  // line separators stay raw
  };
  for (const std::string& n : names) {
    EXPECT_EQ(JsonQuote(n), OrderedJson(n).dump()) << n;
  }
}

}  // namespace
}  // namespace pgconn
