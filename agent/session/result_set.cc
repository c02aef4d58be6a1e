#include "pgconn/result_set.h"

namespace pgconn {

int ResultSet::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int ResultSet::ColumnIndex(
    std::initializer_list<std::string_view> names) const {
  for (auto n : names) {
    if (int i = ColumnIndex(n); i >= 0) return i;
  }
  return -1;
}

namespace {

// The text of a cell, or null for SQL NULL and for a column the row lacks.
const std::string* CellOrNull(const ResultSet::Row& row, int column) {
  if (column < 0 || column >= static_cast<int>(row.size()) ||
      !row[column].has_value()) {
    return nullptr;
  }
  return &*row[column];
}

template <typename T>
Result<T> CellNumber(const ResultSet& rs, const ResultSet::Row& row, int column,
                     T fallback, Result<T> (*parse)(std::string_view)) {
  const std::string* text = CellOrNull(row, column);
  if (text == nullptr) return fallback;
  auto v = parse(*text);
  if (!v.ok()) {
    return Status::InvalidData("column \"" + rs.columns()[column] +
                               "\": " + v.status().message());
  }
  return v;
}

}  // namespace

Result<int64_t> CellInt64(const ResultSet& rs, const ResultSet::Row& row,
                          int column, int64_t fallback) {
  return CellNumber<int64_t>(rs, row, column, fallback, ParseInt64);
}

Result<double> CellDouble(const ResultSet& rs, const ResultSet::Row& row,
                          int column, double fallback) {
  return CellNumber<double>(rs, row, column, fallback, ParseDouble);
}

std::string CellText(const ResultSet::Row& row, int column,
                     std::string_view fallback) {
  const std::string* text = CellOrNull(row, column);
  return text != nullptr ? *text : std::string(fallback);
}

}  // namespace pgconn
