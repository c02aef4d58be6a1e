// The text exposition format 0.0.4 written directly into strings: the hot
// path of every poll (each target's part is written when its poll ends).
// It writes byte for byte what prometheus-cpp's TextSerializer writes for
// the same families (text_writer_test.cc holds the two side by side), at a
// fraction of the cost: no stream per family, label values copied whole
// unless they hold a character that needs escaping, numbers formatted with
// std::to_chars.
#ifndef PGCONN_AGENT_EXPOSE_TEXT_WRITER_H_
#define PGCONN_AGENT_EXPOSE_TEXT_WRITER_H_

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>

namespace pgconn {

// Whether WriteFamilyText writes `family` itself: counters, gauges and
// untyped samples. Summaries and histograms (which pgconn does not emit)
// are left to prometheus-cpp's serializer.
bool DirectlyWritable(const prometheus::MetricFamily& family);

// Appends the "# HELP"/"# TYPE" lines of `family` to `header` and its sample
// lines to `samples`. Requires DirectlyWritable(family).
void WriteFamilyText(const prometheus::MetricFamily& family,
                     std::string* header, std::string* samples);

// A sample value as prometheus-cpp writes it: "Nan", "+Inf", "-Inf", else
// 16 significant digits in printf's "%g" style ("4.2e-05", "12582912",
// "1.152921504606847e+18").
void AppendSampleValue(double value, std::string* out);

// A label value with '\\', '"' and '\n' escaped by a backslash.
void AppendEscapedLabelValue(std::string_view value, std::string* out);

// A label value made valid UTF-8 (ToValidUtf8) and escaped; returns whether
// it had to be made UTF-8. One pass over plain ASCII values.
bool AppendLabelValue(std::string_view value, std::string* out);

// The "# HELP" (when `help` is not empty) and "# TYPE" lines of a family.
void AppendFamilyHeader(std::string_view name, std::string_view help,
                        prometheus::MetricType type, std::string* header);

}  // namespace pgconn

#endif  // PGCONN_AGENT_EXPOSE_TEXT_WRITER_H_
