// The public Exposition (pgconn/publisher.h): text, and gzip on demand.
#include "expose/exposition_part.h"
#include "pgconn/publisher.h"

namespace pgconn {

const std::string& Exposition::gzip() const {
  std::call_once(gzip_once_, [this] { gzip_ = GzipCompress(text_); });
  return gzip_;
}

const Exposition::OpenGzip& Exposition::gzip_open() const {
  std::call_once(gzip_open_once_, [this] { gzip_open_ = GzipOpen(text_); });
  return gzip_open_;
}

}  // namespace pgconn
