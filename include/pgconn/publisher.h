// The exposition the HTTP server serves: built from what the pollers last
// published, never by touching a database.
#ifndef PGCONN_PUBLISHER_H_
#define PGCONN_PUBLISHER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

// Immutable once built, and thread-safe: the gzip form is compressed on
// first use, once, whoever asks first. A large exposition (a fleet's) is
// kept compressed only (the OpenGzip constructor): Prometheus asks for gzip,
// and the text of 500 targets is 8 MB against 0.5 MB of gzip; the rare scrape
// that wants the text gets it inflated, once.
class Exposition {
 public:
  // The text as an open gzip member: header and deflate blocks ended by a
  // sync flush, with the CRC-32 and length of the text. GzipClose()
  // (expose/exposition_part.h) appends more text, so that a scrape adds
  // its self-metrics without compressing the text again. Empty `bytes` if
  // compression failed.
  struct OpenGzip {
    std::string bytes;
    uint32_t crc = 0;
    uint64_t length = 0;
  };

  explicit Exposition(std::string text)
      : text_(std::move(text)), size_(text_.size()) {}
  // An exposition whose text is `open` (which must not be empty).
  explicit Exposition(OpenGzip open);
  Exposition(const Exposition&) = delete;
  Exposition& operator=(const Exposition&) = delete;

  // The text's length, without inflating a compressed one.
  size_t size() const { return size_; }
  bool compressed() const { return compressed_; }
  // The text (inflated on first use if kept compressed; empty if that
  // failed, which a sound member never does).
  const std::string& text() const;
  // The text, gzip-compressed; empty if compression failed.
  const std::string& gzip() const;
  const OpenGzip& gzip_open() const;

 private:
  const bool compressed_ = false;
  mutable std::once_flag text_once_;
  mutable std::string text_;
  const size_t size_;
  mutable std::once_flag gzip_once_;
  mutable std::string gzip_;
  mutable std::once_flag gzip_open_once_;
  mutable OpenGzip gzip_open_;
};

// The live page at / and its JSON at /api/v1/status. The page, its style
// and its script are static files embedded in the binary at build time
// (runtime/status_page_assets.h): they fetch and render the JSON, which is
// built from the same published reports as the exposition (no database work
// per request). Immutable once built, and so thread-safe.
class StatusPage {
 public:
  // One static file of the page: its bytes live as long as the program.
  struct Asset {
    std::string_view path;  // "/", "/status.css", "/status.js"
    std::string_view content_type;
    std::string_view body;
  };
  StatusPage(std::vector<Asset> assets, std::string json)
      : assets_(std::move(assets)), json_(std::move(json)) {}
  StatusPage(const StatusPage&) = delete;
  StatusPage& operator=(const StatusPage&) = delete;

  // The asset served at `path`; null for any other path.
  const Asset* Find(std::string_view path) const {
    for (const Asset& a : assets_) {
      if (a.path == path) return &a;
    }
    return nullptr;
  }
  const std::vector<Asset>& assets() const { return assets_; }
  const std::string& json() const { return json_; }

 private:
  const std::vector<Asset> assets_;
  const std::string json_;
};

// Where scrapes get the exposition. Thread-safe.
class ExpositionSource {
 public:
  virtual ~ExpositionSource() = default;
  // The exposition of the latest published state of every target.
  virtual std::shared_ptr<const Exposition> Current() const = 0;
  // True once every target has finished at least one poll.
  virtual bool Ready() const = 0;
  // The status page of the same state; null where a source has none (the
  // HTTP server then serves a plain index page).
  virtual std::shared_ptr<const StatusPage> CurrentPage() const {
    return nullptr;
  }
  // The exposition of one configured target's latest published state
  // alone (/probe); null when no target has that name.
  virtual std::shared_ptr<const Exposition> CurrentFor(
      std::string_view target) const {
    (void)target;
    return nullptr;
  }
  // The names of the configured targets, in configuration order (targets a
  // reload added come last): what GET /discovery lists.
  virtual std::vector<std::string> TargetNames() const { return {}; }
};

}  // namespace pgconn

#endif  // PGCONN_PUBLISHER_H_
