// SHOW LISTS: PgBouncer's internal counts. used_clients is the number that
// max_client_conn limits (every client connection, logins and admin console
// included); the others (servers, DNS, peers) are kept for diagnosis.
#include <map>
#include <utility>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/pgbouncer.h"

namespace pgconn {
namespace {

class PgBouncerListsCollector final : public CollectorOf<PgBouncerLists> {
 public:
  std::string Statement(const CollectorContext&) const override {
    return "SHOW LISTS";
  }

 protected:
  Result<PgBouncerLists> ParseRows(const ResultSet& rs) const override {
    auto lists =
        rs.ColumnIndex("list") >= 0 ? ParseListRows(rs) : ParseListColumns(rs);
    if (!lists.ok()) return lists.status();
    if (lists->empty()) {
      return Status::InvalidData(std::string(name()) + ": no lists");
    }
    PgBouncerLists out;
    out.lists = std::move(*lists);
    // What max_client_conn limits; every version has it.
    if (out.lists.count("used_clients") == 0) {
      out.missing_columns.emplace_back("used_clients");
    }
    return out;
  }

  void EmitMetrics(const PgBouncerLists& b, const Labels& t,
                   MetricsWriter* w) const override {
    for (const auto& [list, items] : b.lists) {
      w->Gauge("pgconn_pgbouncer_list_items",
               "PgBouncer's internal counts (SHOW LISTS): databases, users, "
               "pools, free/used/login clients, free/used servers, DNS and "
               "peers.",
               WithLabel(t, "list", list), static_cast<double>(items));
    }
    auto it = b.lists.find("used_clients");
    if (it != b.lists.end()) {
      w->Gauge("pgconn_pgbouncer_used_client_connections",
               "Client connections PgBouncer holds, logins and admin console "
               "included: the number max_client_conn limits (SHOW LISTS "
               "used_clients).",
               t, static_cast<double>(it->second));
    }
  }

 private:
  // What every released version sends: one (list, items) row per list.
  Result<std::map<std::string, int64_t>> ParseListRows(
      const ResultSet& rs) const {
    detail::PgBouncerColumns c(name(), rs);
    const int c_list = c.Require({"list"});
    const int c_items = c.Require({"items"});
    if (!c.status().ok()) return c.status();
    std::map<std::string, int64_t> lists;
    for (const auto& row : rs.rows()) {
      auto items = c.Int(row, c_items);
      if (!items.ok()) return items.status();
      if (*items) lists[CellText(row, c_list)] = **items;
    }
    return lists;
  }

  // What the documentation describes: one row, one column per list.
  Result<std::map<std::string, int64_t>> ParseListColumns(
      const ResultSet& rs) const {
    if (rs.size() != 1) {
      return Status::InvalidData(std::string(name()) +
                                 ": expected (list, items) rows or one row, "
                                 "got " +
                                 std::to_string(rs.size()) + " rows");
    }
    detail::PgBouncerColumns c(name(), rs);
    std::map<std::string, int64_t> lists;
    for (size_t i = 0; i < rs.columns().size(); ++i) {
      auto items = c.Int(rs.rows()[0], static_cast<int>(i));
      if (!items.ok()) return items.status();
      if (*items) lists[rs.columns()[i]] = **items;
    }
    return lists;
  }
};

}  // namespace

std::unique_ptr<Collector> NewPgBouncerListsCollector() {
  return std::make_unique<PgBouncerListsCollector>();
}

}  // namespace pgconn
