#include "expose/exposition_part.h"

#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <sstream>
#include <string_view>
#include <unordered_map>

#include "expose/text_writer.h"

namespace pgconn {

namespace {

// One family by prometheus-cpp's serializer, split into its comment lines
// and its sample lines.
ExpositionPart::Family SerializeWithLibrary(prometheus::MetricFamily f) {
  const prometheus::TextSerializer serializer;
  std::ostringstream out;
  std::vector<prometheus::MetricFamily> one;
  one.push_back(std::move(f));
  serializer.Serialize(out, one);
  const std::string text = out.str();
  // The serializer writes the comment lines first; no sample line starts
  // with '#'.
  size_t split = 0;
  while (split < text.size() && text[split] == '#') {
    const size_t eol = text.find('\n', split);
    split = eol == std::string::npos ? text.size() : eol + 1;
  }
  ExpositionPart::Family pf;
  pf.name = std::move(one.front().name);
  pf.header = text.substr(0, split);
  pf.samples = text.substr(split);
  return pf;
}

}  // namespace

ExpositionPart SerializePart(std::vector<prometheus::MetricFamily> families) {
  ExpositionPart part;
  part.families.reserve(families.size());
  for (prometheus::MetricFamily& f : families) {
    ExpositionPart::Family pf;
    if (DirectlyWritable(f)) {
      WriteFamilyText(f, &pf.header, &pf.samples);
      pf.name = std::move(f.name);
    } else {
      pf = SerializeWithLibrary(std::move(f));
    }
    part.bytes += pf.header.size() + pf.samples.size();
    part.families.push_back(std::move(pf));
  }
  return part;
}

std::string AssembleText(
    const std::vector<std::shared_ptr<const ExpositionPart>>& parts) {
  // Families in first-seen order, each with the parts' samples in order.
  std::vector<std::vector<const ExpositionPart::Family*>> groups;
  std::unordered_map<std::string_view, size_t> index;
  size_t bytes = 0;  // exactly the text's: each header once
  for (const auto& part : parts) {
    if (!part) continue;
    for (const ExpositionPart::Family& f : part->families) {
      auto [it, added] = index.try_emplace(f.name, groups.size());
      if (added) {
        groups.emplace_back();
        bytes += f.header.size();
      }
      groups[it->second].push_back(&f);
      bytes += f.samples.size();
    }
  }
  std::string text;
  text.reserve(bytes);
  for (const auto& group : groups) {
    text += group.front()->header;
    for (const ExpositionPart::Family* f : group) text += f->samples;
  }
  return text;
}

namespace {

// Level 3 for an exposition of up to kLargeText bytes: on one of 40
// targets (670 kB) it took 1.9 ms against 7.1 ms at the default level 6,
// for 15 % more bytes; a scrape after a change pays it, so speed wins.
// Level 1 above: a fleet's text (8 MB at 500 targets) is compressed again
// every few seconds, and its samples repeat so much that level 1 costs
// only a few percent more bytes at a third of level 3's time.
int LevelFor(size_t bytes) {
  constexpr size_t kLargeText = 1 << 20;
  return bytes > kLargeText ? 1 : 3;
}

// Deflates `data` with `flush` at the end into `out`; `window_bits`
// 15 + 16 writes a gzip header first, -15 raw blocks only. The output
// grows as it is written (no deflateBound()-sized buffer zeroed and kept:
// for an 8 MB text that was 8 MB of memory per kept gzip of 0.5 MB).
bool Deflate(const std::string& data, int window_bits, int flush,
             std::string* out) {
  z_stream zs{};
  if (deflateInit2(&zs, LevelFor(data.size()), Z_DEFLATED, window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  out->clear();
  // Expositions compress about 16:1; a first guess, grown when short.
  size_t cap = data.size() / 12 + 256;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (true) {
    const size_t used = zs.total_out;
    out->resize(cap);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + used);
    zs.avail_out = static_cast<uInt>(cap - used);
    rc = deflate(&zs, flush);
    if (rc == Z_STREAM_ERROR) break;
    // Done once deflate had room left over (all input and the flush
    // written), or, finishing, once the stream ended. Z_BUF_ERROR: a
    // flush already complete had nothing more to write.
    if (flush == Z_FINISH ? rc == Z_STREAM_END
                          : zs.avail_out > 0 || rc == Z_BUF_ERROR) {
      break;
    }
    cap += cap / 2 + 256;
  }
  const size_t written = zs.total_out;
  deflateEnd(&zs);
  const bool ok = flush == Z_FINISH
                      ? rc == Z_STREAM_END
                      : (rc == Z_OK || rc == Z_BUF_ERROR) && zs.avail_in == 0;
  if (!ok) return false;
  out->resize(written);
  if (out->capacity() > written + written / 4) out->shrink_to_fit();
  return true;
}

}  // namespace

std::string GzipCompress(const std::string& data) {
  std::string out;
  if (!Deflate(data, 15 + 16, Z_FINISH, &out)) return "";
  return out;
}

namespace {

void AppendLittleEndian32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

Exposition::OpenGzip GzipOpen(const std::string& data) {
  Exposition::OpenGzip open;
  // A sync flush ends the blocks on a byte boundary without a final block:
  // more blocks may follow.
  if (!Deflate(data, 15 + 16, Z_SYNC_FLUSH, &open.bytes)) {
    open.bytes.clear();
    return open;
  }
  open.crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(data.data()),
            static_cast<uInt>(data.size())));
  open.length = data.size();
  return open;
}

std::string GzipClose(const Exposition::OpenGzip& open,
                      const std::string& tail) {
  std::string out;
  if (!Deflate(tail, -15, Z_FINISH, &out)) return "";
  const uLong tail_crc = crc32(0, reinterpret_cast<const Bytef*>(tail.data()),
                               static_cast<uInt>(tail.size()));
  const uLong crc =
      crc32_combine(open.crc, tail_crc, static_cast<z_off_t>(tail.size()));
  AppendLittleEndian32(static_cast<uint32_t>(crc), &out);
  // ISIZE: the length modulo 2^32 (RFC 1952).
  AppendLittleEndian32(static_cast<uint32_t>(open.length + tail.size()), &out);
  return out;
}

}  // namespace pgconn
