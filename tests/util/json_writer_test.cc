#include "util/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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
      .Double(std::nan(""))
      .Double(1e21)
      .Double(0)
      .EndArray();
  EXPECT_EQ(w.Take(), "[\n  null,\n  null,\n  1e+21,\n  0\n]\n");
}

}  // namespace
}  // namespace pgconn
