#include "pgconn/publisher.h"

#include <zlib.h>

namespace pgconn {

std::string GzipCompress(const std::string& data) {
  z_stream zs{};
  // 15 window bits + 16: a gzip header instead of a zlib one.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return "";
  }
  std::string out;
  out.resize(deflateBound(&zs, data.size()));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const size_t written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return "";
  out.resize(written);
  return out;
}

Publisher::Publisher(std::vector<TargetReport> initial, BuildInfo build)
    : build_(std::move(build)), reports_(std::move(initial)) {
  MutexLock lock(&mu_);
  RebuildLocked();
}

void Publisher::Publish(TargetReport report) {
  MutexLock lock(&mu_);
  for (TargetReport& r : reports_) {
    if (r.target == report.target) {
      r = std::move(report);
      RebuildLocked();
      return;
    }
  }
  reports_.push_back(std::move(report));
  RebuildLocked();
}

void Publisher::RebuildLocked() {
  auto e = std::make_shared<Exposition>();
  e->text = SerializeText(BuildMetricFamilies(reports_, build_));
  e->gzip = GzipCompress(e->text);
  current_ = std::move(e);
}

std::shared_ptr<const Exposition> Publisher::Current() const {
  MutexLock lock(&mu_);
  return current_;
}

std::vector<TargetReport> Publisher::Reports() const {
  MutexLock lock(&mu_);
  return reports_;
}

bool Publisher::Ready() const {
  MutexLock lock(&mu_);
  for (const TargetReport& r : reports_) {
    if (!r.stats.attempted) return false;
  }
  return true;
}

}  // namespace pgconn
