#include "expose/metrics_writer.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

namespace pgconn {
namespace {

std::string Text(MetricsWriter& w) {
  return prometheus::TextSerializer().Serialize(w.Take());
}

TEST(MetricsWriterTest, LabelValuesAreMadeValidUtf8) {
  MetricsWriter w;
  w.Gauge("pgconn_x", "help", {{"target", "t"}, {"database", "bad\xFF"}}, 3);
  EXPECT_EQ(Text(w),
            "# HELP pgconn_x help\n# TYPE pgconn_x gauge\n"
            "pgconn_x{target=\"t\",database=\"bad\xEF\xBF\xBD\"} 3\n");
}

TEST(MetricsWriterTest, NamesThatCollideAfterSanitizingAreFoldedIntoOne) {
  MetricsWriter w;
  // "bad\xFF" and "bad\xFE" differ on the server, not once made UTF-8; a
  // third name holds U+FFFD itself. Order must not matter.
  w.Gauge("pgconn_x", "help", {{"database", "bad\xEF\xBF\xBD"}}, 1);
  w.Gauge("pgconn_x", "help", {{"database", "bad\xFF"}}, 2);
  w.Gauge("pgconn_x", "help", {{"database", "good"}}, 5);
  w.Gauge("pgconn_x", "help", {{"database", "bad\xFE"}}, 4);
  w.Counter("pgconn_y_total", "help", {{"user", "u\xFF"}}, 10);
  w.Counter("pgconn_y_total", "help", {{"user", "u\xEF\xBF\xBD"}}, 1);
  EXPECT_EQ(Text(w),
            "# HELP pgconn_x help\n# TYPE pgconn_x gauge\n"
            "pgconn_x{database=\"bad\xEF\xBF\xBD\"} 7\n"
            "pgconn_x{database=\"good\"} 5\n"
            "# HELP pgconn_y_total help\n# TYPE pgconn_y_total counter\n"
            "pgconn_y_total{user=\"u\xEF\xBF\xBD\"} 11\n");
}

TEST(MetricsWriterTest, DistinctBadNamesStayDistinctWhenTheirLengthsDiffer) {
  MetricsWriter w;
  w.Gauge("pgconn_x", "help", {{"application", "a\xFF"}}, 1);
  w.Gauge("pgconn_x", "help", {{"application", "a\xFF\xFF"}}, 2);
  EXPECT_EQ(Text(w),
            "# HELP pgconn_x help\n# TYPE pgconn_x gauge\n"
            "pgconn_x{application=\"a\xEF\xBF\xBD\"} 1\n"
            "pgconn_x{application=\"a\xEF\xBF\xBD\xEF\xBF\xBD\"} 2\n");
}

}  // namespace
}  // namespace pgconn
