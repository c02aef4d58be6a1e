// The direct writer against prometheus-cpp's TextSerializer: the same
// families through both must give the same bytes.
#include "expose/text_writer.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "expose/exposition_part.h"
#include "expose/metrics_writer.h"
#include "util/utf8.h"

namespace pgconn {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string ByLibrary(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

// A part's text, and its byte count checked.
std::string Joined(const ExpositionPart& part) {
  std::string text;
  for (const ExpositionPart::Family& f : part.families) {
    text += f.header();
    text += part.samples(f);
  }
  EXPECT_EQ(text.size(), part.bytes);
  return text;
}

std::string ByWriter(const std::vector<MetricFamily>& families) {
  return Joined(SerializePart(families));
}

ClientMetric Sample(MetricType type,
                    std::vector<std::pair<std::string, std::string>> labels,
                    double value) {
  ClientMetric m;
  for (auto& [k, v] : labels) m.label.push_back({k, v});
  if (type == MetricType::Counter) m.counter.value = value;
  if (type == MetricType::Gauge) m.gauge.value = value;
  if (type == MetricType::Untyped) m.untyped.value = value;
  return m;
}

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

double Pow2(int e) { return std::ldexp(1.0, e); }

const std::vector<double>& HostileValues() {
  static const std::vector<double> values = {
      0.0,
      -0.0,
      1.0,
      -1.0,
      0.1,
      1.0 / 3.0,
      4.2e-05,
      1e-06,
      1764600000.0,
      12582912.0,
      std::numeric_limits<double>::quiet_NaN(),
      -std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      std::numeric_limits<double>::min(),
      std::numeric_limits<double>::denorm_min(),
      std::numeric_limits<double>::epsilon(),
      1e21,
      1e22,
      123456789012345680000.0,
      Pow2(53),
      Pow2(53) + 2,
      Pow2(60) + 256,
      Pow2(63),
      Pow2(64),
      18446744073709549568.0,  // the largest double below 2^64
      -Pow2(62) * 3,
      9007199254740993.0,  // 2^53 + 1, rounds to 2^53
      1e-300,
      2.5e-310,
      0.000001234,
      100000.0,
      1e15,
      1e16,
      1e17,
  };
  return values;
}

const std::vector<std::string>& HostileLabelValues() {
  static const std::vector<std::string> values = {
      "",
      "plain",
      "back\\slash",
      "\\",
      "\\\\n",
      "quote\"d",
      "\"",
      "new\nline",
      "\n",
      "\n\n\"\\",
      "trailing\\",
      "Gr\xc3\xbc\xc3\x9f"
      "e \xe2\x82\xac \xf0\x9f\x90\x98",  // UTF-8
      "tab\there",
      "carriage\rreturn",
      std::string("nul\0byte", 8),
      "{braces}=,",
      "# not a comment",
      std::string(300, 'x') + "\\" + std::string(300, '"'),
  };
  return values;
}

TEST(TextWriterTest, SameBytesAsTextSerializerForHostileLabelsAndValues) {
  std::vector<MetricFamily> families;
  for (MetricType type :
       {MetricType::Gauge, MetricType::Counter, MetricType::Untyped}) {
    MetricFamily f = Family("pgconn_hostile_" + std::to_string(int(type)),
                            "Hostile values.", type);
    f.metric.push_back(Sample(type, {}, 7));  // no labels at all
    for (double v : HostileValues()) {
      f.metric.push_back(Sample(type, {{"target", "t"}}, v));
    }
    for (const std::string& lv : HostileLabelValues()) {
      f.metric.push_back(
          Sample(type, {{"target", lv}, {"application", lv}}, 1.5));
      f.metric.push_back(Sample(type, {{"l", lv}}, -2));
    }
    families.push_back(std::move(f));
  }
  // No help: no "# HELP" line.
  MetricFamily bare = Family("pgconn_no_help", "", MetricType::Gauge);
  bare.metric.push_back(Sample(MetricType::Gauge, {{"a", "b"}}, 1));
  families.push_back(std::move(bare));
  // Empty family: comment lines only.
  families.push_back(Family("pgconn_empty", "Empty.", MetricType::Counter));
  // A timestamp, which pgconn never sets, still written as the library does.
  MetricFamily stamped = Family("pgconn_stamped", "T.", MetricType::Gauge);
  stamped.metric.push_back(Sample(MetricType::Gauge, {}, 3));
  stamped.metric.back().timestamp_ms = 1764600000123;
  stamped.metric.push_back(Sample(MetricType::Gauge, {{"x", "y"}}, 4));
  stamped.metric.back().timestamp_ms = -5;
  families.push_back(std::move(stamped));

  const std::string expected = ByLibrary(families);
  EXPECT_EQ(ByWriter(families), expected);
  // The hostile values really went through: escaped and unescaped forms.
  EXPECT_NE(expected.find(R"(target="new\nline")"), std::string::npos);
  EXPECT_NE(expected.find(R"(l="quote\"d")"), std::string::npos);
  EXPECT_NE(expected.find(R"(l="trailing\\")"), std::string::npos);
  EXPECT_NE(expected.find("pgconn_stamped 3 1764600000123\n"),
            std::string::npos);
}

TEST(TextWriterTest, SameBytesForRandomBitPatternsAndBytes) {
  std::mt19937_64 random(24);  // fixed seed: the same cases every run
  MetricFamily f = Family("pgconn_random", "Random.", MetricType::Gauge);
  for (int i = 0; i < 5000; ++i) {
    const uint64_t bits = random();
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    std::string lv(random() % 12, '\0');
    for (char& c : lv) {
      // Mostly the characters that need escaping, and any byte.
      const uint64_t r = random();
      c = r % 3 == 0 ? "\\\"\n"[r / 3 % 3] : static_cast<char>(r >> 8);
    }
    f.metric.push_back(Sample(MetricType::Gauge, {{"v", lv}}, v));
    // Integers of every size as doubles.
    f.metric.push_back(Sample(MetricType::Gauge, {},
                              static_cast<double>(random() >> (i % 64))));
  }
  const std::vector<MetricFamily> families = {f};
  EXPECT_EQ(ByWriter(families), ByLibrary(families));
}

TEST(TextWriterTest, HistogramsAndSummariesGoThroughTheLibrary) {
  MetricFamily h = Family("pgconn_h", "H.", MetricType::Histogram);
  ClientMetric m;
  m.label.push_back({"target", "a\"b"});
  m.histogram.sample_count = 3;
  m.histogram.sample_sum = 0.5;
  m.histogram.bucket.push_back({1, 0.1});
  m.histogram.bucket.push_back({3, 1});
  h.metric.push_back(m);
  MetricFamily s = Family("pgconn_s", "S.", MetricType::Summary);
  ClientMetric q;
  q.summary.sample_count = 2;
  q.summary.sample_sum = 4;
  q.summary.quantile.push_back({0.5, 2});
  s.metric.push_back(q);
  EXPECT_FALSE(DirectlyWritable(h));
  EXPECT_FALSE(DirectlyWritable(s));
  const std::vector<MetricFamily> families = {
      Family("pgconn_g", "G.", MetricType::Gauge), h, s};
  EXPECT_EQ(ByWriter(families), ByLibrary(families));
}

// What MetricsWriter wrote, assembled as one part.
std::string ByMetricsWriter(MetricsWriter& w) { return Joined(w.TakePart()); }

// The writer the collectors use, sample by sample, against the library on
// the same families: two families written interleaved (each keeps its
// samples in order), a rendered-once target prefix with a hostile name, own
// labels, every hostile value.
TEST(TextWriterTest, MetricsWriterGivesTheSameBytesAsTextSerializer) {
  const LabelPrefix target{{"target", "t\"x\\y\nz"}};
  MetricFamily g = Family("pgconn_g", "Gauges.", MetricType::Gauge);
  MetricFamily c = Family("pgconn_c_total", "Counters.", MetricType::Counter);
  MetricsWriter w;
  for (double v : HostileValues()) {
    w.Gauge("pgconn_g", "Gauges.", target, v);
    g.metric.push_back(
        Sample(MetricType::Gauge, {{"target", "t\"x\\y\nz"}}, v));
    w.Counter("pgconn_c_total", "Counters.", {}, v);
    c.metric.push_back(Sample(MetricType::Counter, {}, v));
  }
  for (const std::string& lv : HostileLabelValues()) {
    w.Gauge("pgconn_g", "ignored: the first help stays",
            WithLabel(target, "l", lv), 1.5);
    g.metric.push_back(
        Sample(MetricType::Gauge, {{"target", "t\"x\\y\nz"}, {"l", lv}}, 1.5));
    w.Counter("pgconn_c_total", "Counters.",
              {{"target", lv}, {"application", lv}, {"state", "idle"}}, 2);
    c.metric.push_back(
        Sample(MetricType::Counter,
               {{"target", lv}, {"application", lv}, {"state", "idle"}}, 2));
  }
  w.Gauge("pgconn_no_help", "", {{"a", "b"}}, 1);
  MetricFamily bare = Family("pgconn_no_help", "", MetricType::Gauge);
  bare.metric.push_back(Sample(MetricType::Gauge, {{"a", "b"}}, 1));
  const std::string expected = ByLibrary({g, c, bare});
  EXPECT_EQ(ByMetricsWriter(w), expected);
  EXPECT_NE(expected.find(R"(pgconn_g{target="t\"x\\y\nz",l="new\nline"} 1.5)"),
            std::string::npos);
}

TEST(TextWriterTest, MetricsWriterSameBytesForRandomBitPatternsAndBytes) {
  std::mt19937_64 random(24);  // fixed seed: the same cases every run
  MetricFamily f = Family("pgconn_random", "Random.", MetricType::Gauge);
  MetricFamily ints = Family("pgconn_ints", "Integers.", MetricType::Gauge);
  MetricsWriter w;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t bits = random();
    double v;
    std::memcpy(&v, &bits, sizeof(v));
    std::string lv(random() % 12, '\0');
    for (char& c : lv) {
      const uint64_t r = random();
      c = r % 3 == 0 ? "\\\"\n"[r / 3 % 3] : static_cast<char>(r >> 8);
    }
    // Unique, even once made UTF-8 (after the last '#'): nothing folds.
    lv += "#" + std::to_string(i);
    w.Gauge("pgconn_random", "Random.", {{"v", lv}}, v);
    f.metric.push_back(Sample(MetricType::Gauge, {{"v", ToValidUtf8(lv)}}, v));
    const double n = static_cast<double>(random() >> (i % 64));
    w.Gauge("pgconn_ints", "Integers.", {}, n);
    ints.metric.push_back(Sample(MetricType::Gauge, {}, n));
  }
  EXPECT_EQ(ByMetricsWriter(w), ByLibrary({f, ints}));
}

// A target name that is not UTF-8 makes every sample of the family a
// candidate for folding: equal labels fold, in first-seen order, at any
// count (an index, not a search).
TEST(TextWriterTest, MetricsWriterFoldsUnderAnInvalidTargetName) {
  const LabelPrefix target{{"target", "t\xFF"}};
  MetricsWriter w;
  for (int i = 0; i < 3000; ++i) {
    const std::string app = "a" + std::to_string(i % 1000);
    w.Gauge("pgconn_x", "X.", WithLabel(target, "application", app), 1);
  }
  w.Gauge("pgconn_x", "X.", {{"target", "t\xFE"}, {"application", "a7"}}, 10);
  const auto families = w.Take();
  ASSERT_EQ(families.size(), 1u);
  ASSERT_EQ(families[0].metric.size(), 1000u);
  EXPECT_EQ(families[0].metric[7].label[0].value, "t\xEF\xBF\xBD");
  EXPECT_EQ(families[0].metric[7].label[1].value, "a7");
  EXPECT_EQ(families[0].metric[7].gauge.value, 13);
  EXPECT_EQ(families[0].metric[8].gauge.value, 3);
}

TEST(TextWriterTest, EscapesOnlyWhatTheFormatRequires) {
  std::string out;
  AppendEscapedLabelValue("a\\b\"c\nd\te", &out);
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd\te");
  out.clear();
  AppendSampleValue(-0.0, &out);
  out += ' ';
  AppendSampleValue(Pow2(60) + 256, &out);
  out += ' ';
  AppendSampleValue(std::numeric_limits<double>::quiet_NaN(), &out);
  EXPECT_EQ(out, "-0 1.152921504606847e+18 Nan");
}

}  // namespace
}  // namespace pgconn
