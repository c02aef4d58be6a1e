// Reading PgBouncer admin-console results, shared by the PgBouncer
// collectors. Columns are looked up by name, with the older name of a
// renamed column as an alternative, so a column a new version adds is
// ignored. Three kinds of column:
//   - Require: what identifies a row (database, user, name, key); without
//     it nothing can be attributed, and the collector fails;
//   - Expect: a value every supported version has; when it is missing the
//     collector still reads the rest, and the column is reported
//     (missing(), exported as pgconn_pgbouncer_missing_columns);
//   - Find: a value only some versions have; absent is "not reported".
#ifndef PGCONN_AGENT_PGBOUNCER_COLUMNS_H_
#define PGCONN_AGENT_PGBOUNCER_COLUMNS_H_

#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

  // Index of the first of `names` present; when none is, -1 and the first
  // (current) name is added to missing().
  int Expect(std::initializer_list<std::string_view> names) {
    const int i = rs_.ColumnIndex(names);
    if (i < 0) missing_.emplace_back(*names.begin());
    return i;
  }

  // OK, or the first missing required column.
  const Status& status() const { return status_; }

  // The expected columns that are missing, in the order they were asked.
  const std::vector<std::string>& missing() const { return missing_; }

  // The value of `column` in `row`: nullopt when the column is absent or
  // the cell is NULL or empty (PgBouncer 1.24 sends NULL or an empty
  // string where a setting is unset); an error naming the collector and
  // the column when the text is not a whole number.
  Result<std::optional<int64_t>> Int(const ResultSet::Row& row,
                                     int column) const {
    if (column < 0 || column >= static_cast<int>(row.size()) ||
        !row[column].has_value() || row[column]->empty()) {
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
  std::vector<std::string> missing_;
};

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_PGBOUNCER_COLUMNS_H_
