#include "expose/text_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "util/utf8.h"

namespace pgconn {

namespace {

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Untyped:
      return "untyped";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

double SampleValue(const prometheus::MetricFamily& family,
                   const prometheus::ClientMetric& metric) {
  switch (family.type) {
    case prometheus::MetricType::Counter:
      return metric.counter.value;
    case prometheus::MetricType::Gauge:
      return metric.gauge.value;
    default:
      return metric.untyped.value;
  }
}

void AppendInt64(int64_t value, std::string* out) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, end);
}

}  // namespace

bool DirectlyWritable(const prometheus::MetricFamily& family) {
  return family.type == prometheus::MetricType::Counter ||
         family.type == prometheus::MetricType::Gauge ||
         family.type == prometheus::MetricType::Untyped;
}

void AppendSampleValue(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("Nan");
  } else if (std::isinf(value)) {
    out->append(value < 0 ? "-Inf" : "+Inf");
  } else {
    // What prometheus-cpp 1.0 writes: printf's "%.16g" (max_digits10 - 1
    // significant digits), which std::to_chars in the general format with
    // that precision is specified to reproduce. At most 23 characters
    // ("-2.225073858507201e-308").
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value,
                                         std::chars_format::general, 16);
    out->append(buf, end);
  }
}

void AppendEscapedLabelValue(std::string_view value, std::string* out) {
  size_t from = 0;
  for (;;) {
    const size_t at = value.find_first_of("\\\"\n", from);
    if (at == std::string_view::npos) {
      out->append(value.substr(from));
      return;
    }
    out->append(value.substr(from, at - from));
    out->push_back('\\');
    out->push_back(value[at] == '\n' ? 'n' : value[at]);
    from = at + 1;
  }
}

bool AppendLabelValue(std::string_view value, std::string* out) {
  bool plain = true;
  for (const char c : value) {
    // Not ASCII, or a character that needs escaping.
    if ((static_cast<unsigned char>(c) & 0x80) != 0 || c == '\\' || c == '"' ||
        c == '\n') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->append(value);
    return false;
  }
  if (IsValidUtf8(value)) {
    AppendEscapedLabelValue(value, out);
    return false;
  }
  AppendEscapedLabelValue(ToValidUtf8(value), out);
  return true;
}

void AppendFamilyHeader(std::string_view name, std::string_view help,
                        prometheus::MetricType type, std::string* header) {
  // One allocation, not one per append: "# HELP ", "# TYPE ", two spaces,
  // two newlines and the longest type name ("histogram") come to 27.
  header->reserve(header->size() + 2 * name.size() + help.size() + 27);
  if (!help.empty()) {
    header->append("# HELP ");
    header->append(name);
    header->push_back(' ');
    header->append(help);
    header->push_back('\n');
  }
  header->append("# TYPE ");
  header->append(name);
  header->push_back(' ');
  header->append(TypeName(type));
  header->push_back('\n');
}

void WriteFamilyText(const prometheus::MetricFamily& family,
                     std::string* header, std::string* samples) {
  AppendFamilyHeader(family.name, family.help, family.type, header);

  samples->reserve(samples->size() +
                   family.metric.size() * (family.name.size() + 64));
  for (const prometheus::ClientMetric& metric : family.metric) {
    samples->append(family.name);
    if (!metric.label.empty()) {
      char separator = '{';
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        samples->push_back(separator);
        samples->append(label.name);
        samples->append("=\"");
        AppendEscapedLabelValue(label.value, samples);
        samples->push_back('"');
        separator = ',';
      }
      samples->push_back('}');
    }
    samples->push_back(' ');
    AppendSampleValue(SampleValue(family, metric), samples);
    if (metric.timestamp_ms != 0) {
      samples->push_back(' ');
      AppendInt64(metric.timestamp_ms, samples);
    }
    samples->push_back('\n');
  }
}

}  // namespace pgconn
