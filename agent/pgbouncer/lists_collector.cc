// SHOW LISTS: PgBouncer's internal counts. used_clients is the number that
// max_client_conn limits (every client connection, logins and admin console
// included); the others (servers, DNS, peers) are kept for diagnosis.
#include <map>
#include <utility>

#include "collect/collector.h"
#include "pgbouncer/columns.h"
#include "pgbouncer/registry.h"

namespace pgconn {
namespace {

class PgBouncerListsCollector final : public Collector {
 public:
  std::string_view name() const override { return "pgbouncer_lists"; }

  std::string Statement(const CollectorContext&) const override {
    return "SHOW LISTS";
  }

  Status Parse(const ResultSet& rs, Snapshot* out) const override {
    out->pgbouncer.has_lists = false;
    auto lists = rs.ColumnIndex("list") >= 0 ? ParseRows(rs) : ParseColumns(rs);
    if (!lists.ok()) return lists.status();
    if (lists->empty()) {
      return Status::InvalidData(std::string(name()) + ": no lists");
    }
    out->pgbouncer.lists = std::move(*lists);
    out->pgbouncer.has_lists = true;
    return Status::Ok();
  }

 private:
  // What every released version sends: one (list, items) row per list.
  Result<std::map<std::string, int64_t>> ParseRows(const ResultSet& rs) const {
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
  Result<std::map<std::string, int64_t>> ParseColumns(
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
