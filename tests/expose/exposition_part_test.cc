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
  EXPECT_EQ(p.families[0].name(), "pgconn_up");
  EXPECT_EQ(p.families[0].header(),
            "# HELP pgconn_up 1 if up.\n# TYPE pgconn_up gauge\n");
  EXPECT_EQ(p.samples(p.families[0]), "pgconn_up{target=\"a\"} 1\n");
  EXPECT_EQ(p.samples(p.families[1]), "pgconn_polls_total{target=\"a\"} 3\n");
  EXPECT_EQ(p.bytes, p.families[0].header().size() +
                         p.samples(p.families[0]).size() +
                         p.families[1].header().size() +
                         p.samples(p.families[1]).size());
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

// A fleet's exposition is compressed straight from its parts: the same
// bytes as compressing the assembled text, and an Exposition kept that way
// gives its text back (inflated) and closes into a whole gzip member.
TEST(ExpositionPartTest, CompressingThePartsEqualsCompressingTheText) {
  std::vector<std::shared_ptr<const ExpositionPart>> parts;
  for (int i = 0; i < 20000; ++i) {
    parts.push_back(i % 7 == 3
                        ? nullptr
                        : std::make_shared<const ExpositionPart>(TargetPart(
                              "t" + std::to_string(i), 1, i % 3 == 0)));
  }
  const std::string text = AssembleText(parts);
  const Exposition::OpenGzip open = GzipOpen(parts);
  ASSERT_FALSE(open.bytes.empty());
  EXPECT_EQ(open.length, text.size());
  const Exposition::OpenGzip from_text = GzipOpen(text);
  EXPECT_EQ(open.crc, from_text.crc);
  EXPECT_EQ(open.bytes, from_text.bytes);
  EXPECT_EQ(GunzipOpen(open), text);
  const std::string tail = "pgconn_self 1\n";
  EXPECT_EQ(Gunzip(open.bytes + GzipClose(open, tail)), text + tail);

  const Exposition e(GzipOpen(parts));
  EXPECT_TRUE(e.compressed());
  EXPECT_EQ(e.size(), text.size());
  EXPECT_EQ(e.text(), text);
  EXPECT_EQ(Gunzip(e.gzip()), text);
  EXPECT_EQ(e.gzip_open().bytes, open.bytes);
}

// An open member that was cut short or altered does not pass for a text.
TEST(ExpositionPartTest, ADamagedOpenMemberGivesNoText) {
  Exposition::OpenGzip open = GzipOpen(std::string(5000, 'x') + "\n");
  ASSERT_TRUE(GunzipOpen(open).has_value());
  Exposition::OpenGzip longer = open;
  longer.length += 1;
  EXPECT_FALSE(GunzipOpen(longer).has_value());
  Exposition::OpenGzip cut = open;
  cut.bytes.resize(cut.bytes.size() / 2);
  EXPECT_FALSE(GunzipOpen(cut).has_value());
}

// Replacing one family's samples (the poll duration, known only once the
// part is written) leaves the others as they were, and no stale bytes.
TEST(ExpositionPartTest, ReplacingAFamilysSamplesKeepsTheOthers) {
  ExpositionPart p;
  p.Add(MakeHead("a", "# TYPE a gauge\n"), "a 1\n");
  p.Add(MakeHead("b", "# TYPE b gauge\n"), "b 2\n");
  p.Add(MakeHead("c", "# TYPE c gauge\n"), "c 3\n");
  p.Replace(1, "b 0.000125\n");
  EXPECT_EQ(p.samples(p.families[0]), "a 1\n");
  EXPECT_EQ(p.samples(p.families[1]), "b 0.000125\n");
  EXPECT_EQ(p.samples(p.families[2]), "c 3\n");
  p.Replace(1, "b 5\n");
  p.Replace(2, "");
  EXPECT_EQ(p.samples(p.families[1]), "b 5\n");
  EXPECT_EQ(p.samples(p.families[2]), "");
  EXPECT_EQ(p.text, "a 1\nb 5\n");
  EXPECT_EQ(AssembleText({std::make_shared<const ExpositionPart>(p)}),
            "# TYPE a gauge\na 1\n# TYPE b gauge\nb 5\n# TYPE c gauge\n");
  EXPECT_EQ(p.bytes, 3 * std::string("# TYPE a gauge\n").size() + 8);
}

// One writer used for part after part (as each poll thread does) writes
// each part as a fresh writer would, and shares its family headers.
TEST(MetricsWriterTest, AWriterUsedAgainWritesWhatAFreshOneWrites) {
  MetricsWriter reused;
  auto write = [](MetricsWriter* w, const std::string& target, int round) {
    const Labels t = {{"target", target}};
    if (round % 2 == 0) w->Gauge("pgconn_extra", "Only some rounds.", t, 7);
    w->Gauge("pgconn_up", "1 if up.", t, round);
    w->Counter("pgconn_polls_total", "Polls.", t, round);
    // A bad byte: the family gets an index of its samples by labels.
    w->Gauge("pgconn_up", "1 if up.", WithLabel(t, "x", "a\xff"), 1);
    w->Gauge("pgconn_up", "1 if up.", WithLabel(t, "x", "a\xfe"), 2);
  };
  std::shared_ptr<const ExpositionPart::Head> up_head;
  for (int round = 0; round < 4; ++round) {
    const std::string target = "t" + std::to_string(round);
    write(&reused, target, round);
    MetricsWriter fresh;
    write(&fresh, target, round);
    const auto a = std::make_shared<const ExpositionPart>(reused.TakePart());
    const auto b = std::make_shared<const ExpositionPart>(fresh.TakePart());
    EXPECT_EQ(AssembleText({a}), AssembleText({b})) << "round " << round;
    EXPECT_EQ(a->bytes, b->bytes);
    EXPECT_EQ(a->families.size(), round % 2 == 0 ? 3u : 2u);
    for (const auto& f : a->families) {
      if (f.name() != "pgconn_up") continue;
      if (up_head == nullptr) up_head = f.head;
      EXPECT_EQ(f.head.get(), up_head.get()) << "round " << round;
    }
  }
  // What a failed part left is dropped; a family described anew gets a new
  // header.
  reused.Gauge("pgconn_up", "1 if up.", {{"target", "half"}}, 1);
  reused.Clear();
  reused.Gauge("pgconn_up", "Up, now documented.", {{"target", "x"}}, 1);
  const ExpositionPart p = reused.TakePart();
  ASSERT_EQ(p.families.size(), 1u);
  EXPECT_EQ(p.families[0].header(),
            "# HELP pgconn_up Up, now documented.\n# TYPE pgconn_up gauge\n");
  EXPECT_EQ(p.samples(p.families[0]), "pgconn_up{target=\"x\"} 1\n");
}

TEST(MetricsWriterTest, WithLabelAppends) {
  const Labels l = WithLabel({{"target", "t"}}, "state", "idle");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[1].first, "state");
  EXPECT_EQ(l[1].second, "idle");
}

}  // namespace
}  // namespace pgconn
