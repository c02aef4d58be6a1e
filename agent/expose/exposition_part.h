// The text exposition built in parts: each target's families are serialized
// once, when that target's poll ends, and the published exposition is the
// concatenation of the parts. Cost is linear in what changed: a poll of one
// target serializes that target only, and assembling is a copy.
#ifndef PGCONN_AGENT_EXPOSE_EXPOSITION_PART_H_
#define PGCONN_AGENT_EXPOSE_EXPOSITION_PART_H_

#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

#include "pgconn/publisher.h"

namespace pgconn {

// Part of the text format 0.0.4: per metric family, its "# HELP"/"# TYPE"
// header and its sample lines. Immutable once built; shared between threads
// as std::shared_ptr<const ExpositionPart>.
struct ExpositionPart {
  struct Family {
    std::string name;
    std::string header;   // "# HELP ...\n# TYPE ...\n"
    std::string samples;  // one line per sample
  };
  std::vector<Family> families;
  size_t bytes = 0;  // sum of the header and sample sizes
};

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
// What completes `open` into one gzip member of open's text then `tail`:
// `tail`'s final deflate blocks and the trailer. Empty on failure.
std::string GzipClose(const Exposition::OpenGzip& open,
                      const std::string& tail);

}  // namespace pgconn

#endif  // PGCONN_AGENT_EXPOSE_EXPOSITION_PART_H_
