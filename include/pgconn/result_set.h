// The rows of one statement, in text form, detached from libpq so that
// collectors can be tested on canned rows.
#ifndef PGCONN_RESULT_SET_H_
#define PGCONN_RESULT_SET_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/status.h"
#include "util/numbers.h"  // ParseInt64(), ParseDouble() for a cell's text

namespace pgconn {

// Value type; thread-compatible.
class ResultSet {
 public:
  using Cell = std::optional<std::string>;  // nullopt is SQL NULL
  using Row = std::vector<Cell>;

  ResultSet() = default;
  ResultSet(std::vector<std::string> columns, std::vector<Row> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}

  const std::vector<std::string>& columns() const { return columns_; }
  const std::vector<Row>& rows() const { return rows_; }
  size_t size() const { return rows_.size(); }

  // Index of the column named `name`, or -1. Columns are always matched by
  // name, never by position: PgBouncer adds and renames them between
  // versions.
  int ColumnIndex(std::string_view name) const;
  // The first of `names` that exists, or -1 (for renamed columns).
  int ColumnIndex(std::initializer_list<std::string_view> names) const;

  void AddRow(Row row) { rows_.push_back(std::move(row)); }

 private:
  std::vector<std::string> columns_;
  std::vector<Row> rows_;
};

// Reads a column of a row as a number. A NULL or missing column yields
// `fallback`; text that is not a number is an error naming the column.
Result<int64_t> CellInt64(const ResultSet& rs, const ResultSet::Row& row,
                          int column, int64_t fallback);
Result<double> CellDouble(const ResultSet& rs, const ResultSet::Row& row,
                          int column, double fallback);
std::string CellText(const ResultSet::Row& row, int column,
                     std::string_view fallback = "");

}  // namespace pgconn

#endif  // PGCONN_RESULT_SET_H_
