// The text exposition built in parts: each target's families are serialized
// once, when that target's poll ends, and the published exposition is the
// concatenation of the parts. Cost is linear in what changed: a poll of one
// target serializes that target only, and assembling is a copy.
#ifndef PGCONN_AGENT_EXPOSE_EXPOSITION_PART_H_
#define PGCONN_AGENT_EXPOSE_EXPOSITION_PART_H_

#include <prometheus/metric_family.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/publisher.h"

namespace pgconn {

// Part of the text format 0.0.4: per metric family, its "# HELP"/"# TYPE"
// header and its sample lines. Immutable once built; shared between threads
// as std::shared_ptr<const ExpositionPart>. A part is built with few
// allocations, because every poll of every target builds one: the sample
// lines of all its families share one string, and a family's header is
// shared (the writer that made it keeps it for its next parts, so that a
// fleet's parts do not each hold a copy of the same comment lines).
struct ExpositionPart {
  // A family's name and header ("# HELP ...\n# TYPE ...\n").
  struct Head {
    std::string name;
    std::string text;
  };
  struct Family {
    std::shared_ptr<const Head> head;
    uint32_t begin = 0;  // the family's sample lines in `text`
    uint32_t end = 0;
    const std::string& name() const { return head->name; }
    const std::string& header() const { return head->text; }
  };
  std::string text;  // sample lines, family after family (Family::begin)
  std::vector<Family> families;
  size_t bytes = 0;  // sum of the header and sample sizes

  std::string_view samples(const Family& f) const {
    return std::string_view(text).substr(f.begin, f.end - f.begin);
  }
  // Appends a family with these sample lines.
  void Add(std::shared_ptr<const Head> head, std::string_view samples);
  // Gives family `i` these sample lines instead.
  void Replace(size_t i, std::string_view samples);
};

// A family head, made once: name and the comment lines.
std::shared_ptr<const ExpositionPart::Head> MakeHead(std::string_view name,
                                                     std::string_view header);

// Serializes `families`: counters, gauges and untyped families with the
// direct writer (text_writer.h), others with prometheus-cpp's serializer.
ExpositionPart SerializePart(std::vector<prometheus::MetricFamily> families);

// The text exposition of `parts` in order. A family that several parts have
// is written once, at its first appearance, with the samples of every part
// that has it, in part order, as the text format requires. Null parts are
// skipped.
std::string AssembleText(
    const std::vector<std::shared_ptr<const ExpositionPart>>& parts);

// gzip (RFC 1952) of `data`; empty on failure.
std::string GzipCompress(const std::string& data);

// `data` as an open gzip member (Exposition::gzip_open()); empty bytes on
// failure.
Exposition::OpenGzip GzipOpen(const std::string& data);
// The same of AssembleText(parts), compressed as it is read from the parts:
// the text itself is never put together.
Exposition::OpenGzip GzipOpen(
    const std::vector<std::shared_ptr<const ExpositionPart>>& parts);
// What completes `open` into one gzip member of open's text then `tail`:
// `tail`'s final deflate blocks and the trailer. Empty on failure.
std::string GzipClose(const Exposition::OpenGzip& open,
                      const std::string& tail);
// The text of an open gzip member; nullopt if it does not inflate to
// open.length bytes.
std::optional<std::string> GunzipOpen(const Exposition::OpenGzip& open);

}  // namespace pgconn

#endif  // PGCONN_AGENT_EXPOSE_EXPOSITION_PART_H_
