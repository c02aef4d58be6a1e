// Backends that are not client backends: autovacuum, WAL senders, background
// workers... They have slots of their own and do not compete for
// max_connections, so they are counted apart.
#include <map>

#include "collect/collector.h"
#include "postgres/activity_scan.h"
#include "postgres/observations.h"

namespace pgconn {
namespace {

class BackendsCollector final
    : public detail::ScanPartCollector<OtherBackends> {
 protected:
  Result<OtherBackends> ParseRows(const ResultSet& scan) const override {
    // The scan's rows of backends that are not clients.
    auto other = detail::OtherBackendsOf(scan);
    if (!other.ok()) return other.status();
    if (*other) {
      OtherBackends out;
      for (auto& [type, n] : **other) out.backends.push_back({type, n});
      return out;
    }
    // Counts per backend_type already (column "backends").
    const ResultSet rs = detail::RowsOfPart(scan, name());
    const int c_type = rs.ColumnIndex("backend_type");
    const int c_n = rs.ColumnIndex("backends");
    if (c_type < 0 || c_n < 0) {
      return Status::InvalidData(
          "backends: missing backend_type or backends column");
    }
    OtherBackends out;
    for (const auto& row : rs.rows()) {
      auto n = CellInt64(rs, row, c_n, 0);
      if (!n.ok()) return n.status().WithContext("backends");
      out.backends.push_back({CellText(row, c_type, kUnknownState), *n});
    }
    return out;
  }

  void EmitMetrics(const OtherBackends& b, const Labels& t,
                   MetricsWriter* w) const override {
    std::map<std::string, int64_t> counts;
    for (auto type : kKnownBackendTypes) counts[std::string(type)] = 0;
    for (const auto& x : b.backends) counts[x.backend_type] += x.count;
    for (const auto& [type, n] : counts) {
      w->Gauge("pgconn_backends",
               "Backends other than client backends by backend_type "
               "(autovacuum, WAL senders, background workers...); they do "
               "not take max_connections slots.",
               WithLabel(t, "backend_type", type), static_cast<double>(n));
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewBackendsCollector() {
  return std::make_unique<BackendsCollector>();
}

}  // namespace pgconn
