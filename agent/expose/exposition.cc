// The public Exposition (pgconn/publisher.h): text, and gzip on demand.
#include "expose/exposition_part.h"
#include "pgconn/publisher.h"

namespace pgconn {

const std::string& Exposition::gzip() const {
  std::call_once(gzip_once_, [this] { gzip_ = GzipCompress(text_); });
  return gzip_;
}

}  // namespace pgconn
