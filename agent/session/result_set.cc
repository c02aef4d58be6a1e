#include "pgconn/result_set.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

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

Result<int64_t> ParseInt64(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return Status::InvalidData("\"" + std::string(text) +
                               "\" is not a whole number");
  }
  return v;
}

Result<double> ParseDouble(std::string_view text) {
  const std::string t(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0' || errno == ERANGE || std::isnan(v)) {
    return Status::InvalidData("\"" + t + "\" is not a number");
  }
  return v;
}

Result<int64_t> CellInt64(const ResultSet& rs, const ResultSet::Row& row,
                          int column, int64_t fallback) {
  if (column < 0 || column >= static_cast<int>(row.size()) ||
      !row[column].has_value()) {
    return fallback;
  }
  auto v = ParseInt64(*row[column]);
  if (!v.ok()) {
    return Status::InvalidData("column \"" + rs.columns()[column] +
                               "\": " + v.status().message());
  }
  return v;
}

Result<double> CellDouble(const ResultSet& rs, const ResultSet::Row& row,
                          int column, double fallback) {
  if (column < 0 || column >= static_cast<int>(row.size()) ||
      !row[column].has_value()) {
    return fallback;
  }
  auto v = ParseDouble(*row[column]);
  if (!v.ok()) {
    return Status::InvalidData("column \"" + rs.columns()[column] +
                               "\": " + v.status().message());
  }
  return v;
}

std::string CellText(const ResultSet::Row& row, int column,
                     std::string_view fallback) {
  if (column < 0 || column >= static_cast<int>(row.size()) ||
      !row[column].has_value()) {
    return std::string(fallback);
  }
  return *row[column];
}

}  // namespace pgconn
