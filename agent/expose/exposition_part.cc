#include "expose/exposition_part.h"

#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <sstream>
#include <string_view>
#include <unordered_map>

#include "expose/text_writer.h"

namespace pgconn {

namespace {

// One family by prometheus-cpp's serializer, added to `part` split into its
// comment lines and its sample lines.
void SerializeWithLibrary(prometheus::MetricFamily f, ExpositionPart* part) {
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
  const std::string_view view(text);
  part->Add(MakeHead(one.front().name, view.substr(0, split)),
            view.substr(split));
}

// The families of `parts` in the order the text format wants them: each
// family once, at its first appearance, with every part's samples of it.
struct Groups {
  struct Member {
    const ExpositionPart* part;
    const ExpositionPart::Family* family;
  };
  std::vector<std::vector<Member>> groups;
  size_t bytes = 0;  // exactly the text's: each header once
};

Groups GroupFamilies(
    const std::vector<std::shared_ptr<const ExpositionPart>>& parts) {
  Groups g;
  std::unordered_map<std::string_view, size_t> index;
  for (const auto& part : parts) {
    if (!part) continue;
    for (const ExpositionPart::Family& f : part->families) {
      auto [it, added] = index.try_emplace(f.name(), g.groups.size());
      if (added) {
        g.groups.emplace_back();
        g.bytes += f.header().size();
      }
      g.groups[it->second].push_back({part.get(), &f});
      g.bytes += f.end - f.begin;
    }
  }
  return g;
}

// Calls fn(piece) for the pieces of the assembled text, in order.
template <typename Fn>
void ForEachPiece(const Groups& g, Fn&& fn) {
  for (const auto& group : g.groups) {
    fn(std::string_view(group.front().family->header()));
    for (const Groups::Member& m : group) fn(m.part->samples(*m.family));
  }
}

}  // namespace

void ExpositionPart::Add(std::shared_ptr<const Head> head,
                         std::string_view samples) {
  Family& f = families.emplace_back();
  f.head = std::move(head);
  f.begin = static_cast<uint32_t>(text.size());
  text.append(samples);
  f.end = static_cast<uint32_t>(text.size());
  bytes += f.header().size() + samples.size();
}

void ExpositionPart::Replace(size_t i, std::string_view samples) {
  // The text is rebuilt at its exact size (appending to it would double
  // its capacity: a part is kept by every target until its next poll).
  const Family old = families[i];
  std::string t;
  t.reserve(text.size() - (old.end - old.begin) + samples.size());
  t.append(text, 0, old.begin);
  t.append(samples);
  t.append(text, old.end, std::string::npos);
  text = std::move(t);
  const auto grown = static_cast<int64_t>(samples.size()) -
                     static_cast<int64_t>(old.end - old.begin);
  // The families' sample lines lie in family order (Add appends).
  for (size_t j = i + 1; j < families.size(); ++j) {
    families[j].begin = static_cast<uint32_t>(families[j].begin + grown);
    families[j].end = static_cast<uint32_t>(families[j].end + grown);
  }
  families[i].end = static_cast<uint32_t>(old.begin + samples.size());
  bytes = bytes + samples.size() - (old.end - old.begin);
}

std::shared_ptr<const ExpositionPart::Head> MakeHead(std::string_view name,
                                                     std::string_view header) {
  return std::make_shared<const ExpositionPart::Head>(
      ExpositionPart::Head{std::string(name), std::string(header)});
}

ExpositionPart SerializePart(std::vector<prometheus::MetricFamily> families) {
  ExpositionPart part;
  part.families.reserve(families.size());
  for (prometheus::MetricFamily& f : families) {
    if (DirectlyWritable(f)) {
      std::string header;
      std::string samples;
      WriteFamilyText(f, &header, &samples);
      part.Add(MakeHead(f.name, header), samples);
    } else {
      SerializeWithLibrary(std::move(f), &part);
    }
  }
  return part;
}

std::string AssembleText(
    const std::vector<std::shared_ptr<const ExpositionPart>>& parts) {
  const Groups g = GroupFamilies(parts);
  std::string text;
  text.reserve(g.bytes);
  ForEachPiece(g, [&](std::string_view piece) { text.append(piece); });
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

// A deflate stream written into a string that grows as it is written (no
// deflateBound()-sized buffer zeroed and kept: for an 8 MB text that was
// 8 MB of memory per kept gzip of 0.5 MB). `window_bits` 15 + 16 writes a
// gzip header first (and zlib keeps the CRC-32 of the input), -15 raw
// blocks only.
class Deflater {
 public:
  Deflater(size_t input_bytes, int window_bits) {
    ok_ = deflateInit2(&zs_, LevelFor(input_bytes), Z_DEFLATED, window_bits, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK;
    // Expositions compress about 16:1; a first guess, grown when short.
    out_.resize(input_bytes / 12 + 256);
  }
  ~Deflater() {
    if (ok_) deflateEnd(&zs_);
  }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Compresses `data`, then does `flush`. False once anything failed.
  bool Write(std::string_view data, int flush) {
    if (!ok_) return false;
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs_.avail_in = static_cast<uInt>(data.size());
    while (true) {
      const size_t used = zs_.total_out;
      if (out_.size() - used < 64) out_.resize(out_.size() * 3 / 2 + 256);
      zs_.next_out = reinterpret_cast<Bytef*>(out_.data() + used);
      zs_.avail_out = static_cast<uInt>(out_.size() - used);
      const int rc = deflate(&zs_, flush);
      if (rc == Z_STREAM_ERROR) return ok_ = false;
      if (flush == Z_FINISH) {
        if (rc == Z_STREAM_END) return true;
        continue;
      }
      // Done once deflate had room left over: all input taken and the
      // flush, if any, written. Z_BUF_ERROR: nothing more to write.
      if (zs_.avail_out > 0 || rc == Z_BUF_ERROR) {
        if (zs_.avail_in == 0) return true;
        if (rc == Z_BUF_ERROR) return ok_ = false;
      }
    }
  }
  // The CRC-32 of the input so far (gzip streams only).
  uint32_t crc() const { return static_cast<uint32_t>(zs_.adler); }
  uint64_t input_bytes() const { return zs_.total_in; }
  // The output, sized exactly; the deflater is spent.
  std::string Take() {
    out_.resize(zs_.total_out);
    if (out_.capacity() > out_.size() + out_.size() / 4) out_.shrink_to_fit();
    return std::move(out_);
  }

 private:
  z_stream zs_{};
  bool ok_ = false;
  std::string out_;
};

}  // namespace

std::string GzipCompress(const std::string& data) {
  Deflater d(data.size(), 15 + 16);
  if (!d.Write(data, Z_FINISH)) return "";
  return d.Take();
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
  Deflater d(data.size(), 15 + 16);
  if (!d.Write(data, Z_SYNC_FLUSH)) return open;
  open.crc = d.crc();
  open.length = data.size();
  open.bytes = d.Take();
  return open;
}

Exposition::OpenGzip GzipOpen(
    const std::vector<std::shared_ptr<const ExpositionPart>>& parts) {
  Exposition::OpenGzip open;
  const Groups g = GroupFamilies(parts);
  Deflater d(g.bytes, 15 + 16);
  bool ok = true;
  ForEachPiece(g, [&](std::string_view piece) {
    ok = ok && d.Write(piece, Z_NO_FLUSH);
  });
  if (!ok || !d.Write({}, Z_SYNC_FLUSH)) return open;
  open.crc = d.crc();
  open.length = d.input_bytes();
  open.bytes = d.Take();
  return open;
}

std::string GzipClose(const Exposition::OpenGzip& open,
                      const std::string& tail) {
  Deflater d(tail.size(), -15);
  if (!d.Write(tail, Z_FINISH)) return "";
  std::string out = d.Take();
  const uLong tail_crc = crc32(0, reinterpret_cast<const Bytef*>(tail.data()),
                               static_cast<uInt>(tail.size()));
  const uLong crc =
      crc32_combine(open.crc, tail_crc, static_cast<z_off_t>(tail.size()));
  AppendLittleEndian32(static_cast<uint32_t>(crc), &out);
  // ISIZE: the length modulo 2^32 (RFC 1952).
  AppendLittleEndian32(static_cast<uint32_t>(open.length + tail.size()), &out);
  return out;
}

std::optional<std::string> GunzipOpen(const Exposition::OpenGzip& open) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return std::nullopt;
  // One byte more than needed: inflate stops for want of input, not room.
  std::string text(open.length + 1, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(open.bytes.data()));
  zs.avail_in = static_cast<uInt>(open.bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(text.data());
  zs.avail_out = static_cast<uInt>(text.size());
  // The member is open (no final block, no trailer): inflate stops at the
  // end of its input without Z_STREAM_END.
  const int rc = inflate(&zs, Z_SYNC_FLUSH);
  const bool ok = (rc == Z_OK || rc == Z_BUF_ERROR) && zs.avail_in == 0 &&
                  zs.total_out == open.length;
  inflateEnd(&zs);
  if (!ok) return std::nullopt;
  text.resize(open.length);
  return text;
}

}  // namespace pgconn
