// Reading PgBouncer admin-console results, shared by the PgBouncer
// collectors. Columns are looked up by name, with the older name of a
// renamed column as an alternative; a column the running version does not
// have is "not reported", not an error, unless the collector cannot do
// without it.
#ifndef PGCONN_AGENT_PGBOUNCER_COLUMNS_H_
#define PGCONN_AGENT_PGBOUNCER_COLUMNS_H_

#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "pgconn/result_set.h"
#include "pgconn/status.h"

namespace pgconn::detail {

// Column indices of one result, resolved once.
class PgBouncerColumns {
 public:
  PgBouncerColumns(std::string_view collector, const ResultSet& rs)
      : collector_(collector), rs_(rs) {}

  // Index of the first of `names` present, or -1.
  int Find(std::initializer_list<std::string_view> names) const {
    return rs_.ColumnIndex(names);
  }

  // Index of the first of `names` present; records an error naming the
  // first (current) name when none is.
  int Require(std::initializer_list<std::string_view> names) {
    const int i = rs_.ColumnIndex(names);
    if (i < 0 && status_.ok()) {
      status_ =
          Status::InvalidData(std::string(collector_) + ": missing column \"" +
                              std::string(*names.begin()) + "\"");
    }
    return i;
  }

  // OK, or the first missing required column.
  const Status& status() const { return status_; }

  // The value of `column` in `row`: nullopt when the column is absent or
  // the cell is NULL; an error naming the collector and the column when the
  // text is not a whole number.
  Result<std::optional<int64_t>> Int(const ResultSet::Row& row,
                                     int column) const {
    if (column < 0 || column >= static_cast<int>(row.size()) ||
        !row[column].has_value()) {
      return std::optional<int64_t>();
    }
    auto v = CellInt64(rs_, row, column, 0);
    if (!v.ok()) return v.status().WithContext(collector_);
    return std::optional<int64_t>(*v);
  }

  // Int for several columns of one row; the first bad cell fails them all.
  template <size_t N>
  Result<std::array<std::optional<int64_t>, N>> Ints(
      const ResultSet::Row& row, const std::array<int, N>& columns) const {
    std::array<std::optional<int64_t>, N> out;
    for (size_t i = 0; i < N; ++i) {
      auto v = Int(row, columns[i]);
      if (!v.ok()) return v.status();
      out[i] = *v;
    }
    return out;
  }

 private:
  std::string_view collector_;
  const ResultSet& rs_;
  Status status_;
};

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_PGBOUNCER_COLUMNS_H_
