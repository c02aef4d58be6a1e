// Keeps the latest report of every target and the exposition built from
// them. Pollers publish; HTTP handlers read. A scrape never touches a
// database and never serializes: it copies a pointer.
#ifndef PGCONN_PUBLISHER_H_
#define PGCONN_PUBLISHER_H_

#include <memory>
#include <string>
#include <vector>

#include "pgconn/thread_annotations.h"
#include "runtime/exposition.h"
#include "runtime/report.h"

namespace pgconn {

// Immutable once published.
struct Exposition {
  std::string text;  // text format 0.0.4
  std::string gzip;  // the same, gzip-compressed (empty if compression failed)
};

// Thread-safe.
class Publisher {
 public:
  // `initial` holds one report per target, in configuration order.
  Publisher(std::vector<TargetReport> initial, BuildInfo build);
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Replaces the report of `report.target` and rebuilds the exposition.
  void Publish(TargetReport report);

  std::shared_ptr<const Exposition> Current() const;
  std::vector<TargetReport> Reports() const;

  // True once every target has finished at least one poll.
  bool Ready() const;

 private:
  void RebuildLocked() PGCONN_REQUIRES(mu_);

  const BuildInfo build_;
  mutable Mutex mu_;
  std::vector<TargetReport> reports_ PGCONN_GUARDED_BY(mu_);
  std::shared_ptr<const Exposition> current_ PGCONN_GUARDED_BY(mu_);
};

// gzip (RFC 1952) of `data`; empty on failure.
std::string GzipCompress(const std::string& data);

}  // namespace pgconn

#endif  // PGCONN_PUBLISHER_H_
