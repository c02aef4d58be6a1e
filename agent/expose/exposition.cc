// The public Exposition (pgconn/publisher.h): text, and gzip on demand; or
// an open gzip member, and the text on demand.
#include "expose/exposition_part.h"
#include "pgconn/publisher.h"

namespace pgconn {

Exposition::Exposition(OpenGzip open)
    : compressed_(true), size_(open.length), gzip_open_(std::move(open)) {}

const std::string& Exposition::text() const {
  if (compressed_) {
    std::call_once(text_once_, [this] {
      text_ = GunzipOpen(gzip_open_).value_or(std::string());
    });
  }
  return text_;
}

const std::string& Exposition::gzip() const {
  std::call_once(gzip_once_, [this] {
    if (!compressed_) {
      gzip_ = GzipCompress(text_);
      return;
    }
    // The member closed with no more text.
    const std::string close = GzipClose(gzip_open_, "");
    if (!close.empty()) gzip_ = gzip_open_.bytes + close;
  });
  return gzip_;
}

const Exposition::OpenGzip& Exposition::gzip_open() const {
  if (compressed_) return gzip_open_;  // set at construction
  std::call_once(gzip_open_once_, [this] { gzip_open_ = GzipOpen(text_); });
  return gzip_open_;
}

}  // namespace pgconn
