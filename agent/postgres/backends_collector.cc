// Backends that are not client backends: autovacuum, WAL senders, background
// workers... They have slots of their own and do not compete for
// max_connections, so they are counted apart.
#include "collect/collector.h"
#include "postgres/client_backends.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

class BackendsCollector final : public Collector {
 public:
  std::string_view name() const override { return "backends"; }

  std::string Statement(const CollectorContext&) const override {
    return "SELECT coalesce(backend_type, 'unknown') AS backend_type,"
           " count(*) AS backends FROM pg_stat_activity"
           " WHERE NOT (" +
           detail::ClientBackendCondition() +
           ")"
           " AND pid <> pg_backend_pid() GROUP BY 1";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    const int c_type = rs.ColumnIndex("backend_type");
    const int c_n = rs.ColumnIndex("backends");
    if (c_type < 0 || c_n < 0) {
      return Status::InvalidData(
          "backends: missing backend_type or backends "
          "column");
    }
    auto& backends = out->postgres.backends;
    backends.clear();
    for (const auto& row : rs.rows()) {
      auto n = CellInt64(rs, row, c_n, 0);
      if (!n.ok()) return n.status().WithContext("backends");
      backends.push_back({CellText(row, c_type, kUnknownState), *n});
    }
    out->postgres.has_backends = true;
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Collector> NewBackendsCollector() {
  return std::make_unique<BackendsCollector>();
}

}  // namespace pgconn
