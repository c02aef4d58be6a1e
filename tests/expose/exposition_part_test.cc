#include "expose/exposition_part.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "expose/metrics_writer.h"

namespace pgconn {
namespace {

ExpositionPart TargetPart(const std::string& target, double up,
                          bool with_extra) {
  MetricsWriter w;
  const Labels t = {{"target", target}};
  w.Gauge("pgconn_up", "1 if up.", t, up);
  if (with_extra) w.Gauge("pgconn_extra", "Only some targets.", t, 7);
  w.Counter("pgconn_polls_total", "Polls.", t, 3);
  return w.TakePart();
}

std::string Gunzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

TEST(ExpositionPartTest, SplitsEachFamilyIntoHeaderAndSamples) {
  const ExpositionPart p = TargetPart("a", 1, false);
  ASSERT_EQ(p.families.size(), 2u);
  EXPECT_EQ(p.families[0].name, "pgconn_up");
  EXPECT_EQ(p.families[0].header,
            "# HELP pgconn_up 1 if up.\n# TYPE pgconn_up gauge\n");
  EXPECT_EQ(p.families[0].samples, "pgconn_up{target=\"a\"} 1\n");
  EXPECT_EQ(p.families[1].samples, "pgconn_polls_total{target=\"a\"} 3\n");
  EXPECT_EQ(p.bytes,
            p.families[0].header.size() + p.families[0].samples.size() +
                p.families[1].header.size() + p.families[1].samples.size());
}

TEST(ExpositionPartTest, AssemblyGroupsEveryFamilyUnderOneHeader) {
  auto a = std::make_shared<const ExpositionPart>(TargetPart("a", 1, false));
  auto b = std::make_shared<const ExpositionPart>(TargetPart("b", 0, true));
  const std::string text = AssembleText({a, nullptr, b});
  EXPECT_EQ(text,
            "# HELP pgconn_up 1 if up.\n"
            "# TYPE pgconn_up gauge\n"
            "pgconn_up{target=\"a\"} 1\n"
            "pgconn_up{target=\"b\"} 0\n"
            "# HELP pgconn_polls_total Polls.\n"
            "# TYPE pgconn_polls_total counter\n"
            "pgconn_polls_total{target=\"a\"} 3\n"
            "pgconn_polls_total{target=\"b\"} 3\n"
            "# HELP pgconn_extra Only some targets.\n"
            "# TYPE pgconn_extra gauge\n"
            "pgconn_extra{target=\"b\"} 7\n");
}

TEST(ExpositionPartTest, AssemblyEqualsSerializingEverythingAtOnce) {
  // One writer over both targets is what the exposition was before it was
  // built in parts; the parts must give the same bytes.
  MetricsWriter all;
  for (const std::string target : {"a", "b"}) {
    all.Gauge("pgconn_up", "1 if up.", {{"target", target}}, 1);
  }
  for (const std::string target : {"a", "b"}) {
    all.Counter("pgconn_polls_total", "Polls.", {{"target", target}}, 3);
  }
  const ExpositionPart whole = all.TakePart();
  auto a = std::make_shared<const ExpositionPart>(TargetPart("a", 1, false));
  auto b = std::make_shared<const ExpositionPart>(TargetPart("b", 1, false));
  EXPECT_EQ(AssembleText({a, b}),
            AssembleText({std::make_shared<const ExpositionPart>(whole)}));
}

TEST(ExpositionPartTest, GzipRoundTrips) {
  const std::string text = AssembleText(
      {std::make_shared<const ExpositionPart>(TargetPart("a", 1, true))});
  const std::string gz = GzipCompress(text);
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_EQ(Gunzip(gz), text);
}

// A fleet-sized text (level 1, past 1 MiB) and one that does not compress
// (the output buffer grows past its first guess), whole and as an open
// member closed with a tail.
TEST(ExpositionPartTest, LargeAndIncompressibleTextsRoundTrip) {
  std::vector<std::shared_ptr<const ExpositionPart>> parts;
  for (int i = 0; i < 20000; ++i) {
    parts.push_back(std::make_shared<const ExpositionPart>(
        TargetPart("t" + std::to_string(i), i % 2, i % 3 == 0)));
  }
  const std::string large = AssembleText(parts);
  ASSERT_GT(large.size(), size_t{1} << 20);
  std::string noise(300000, '\0');
  uint32_t x = 12345;
  for (char& c : noise) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  const std::string* const texts[] = {&large, &noise};
  for (const std::string* text : texts) {
    EXPECT_EQ(Gunzip(GzipCompress(*text)), *text);
    const Exposition::OpenGzip open = GzipOpen(*text);
    ASSERT_FALSE(open.bytes.empty());
    EXPECT_EQ(open.length, text->size());
    const std::string tail = "pgconn_self 1\n";
    EXPECT_EQ(Gunzip(open.bytes + GzipClose(open, tail)), *text + tail);
  }
}

TEST(MetricsWriterTest, WithLabelAppends) {
  const Labels l = WithLabel({{"target", "t"}}, "state", "idle");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[1].first, "state");
  EXPECT_EQ(l[1].second, "idle");
}

}  // namespace
}  // namespace pgconn
