#include "pgconn/result_set.h"

namespace pgconn {

ResultSet ResultSet::InPlace(std::vector<std::string> columns,
                             std::shared_ptr<const Source> source) {
  ResultSet rs;
  rs.columns_ = std::move(columns);
  rs.source_ = std::move(source);
  rs.copied_ = std::make_shared<Copied>();
  return rs;
}

const std::vector<ResultSet::Row>& ResultSet::rows() const {
  if (!source_) return rows_;
  std::call_once(copied_->once, [this] {
    const size_t n = source_->rows(), nc = source_->columns();
    copied_->rows.reserve(n);
    for (size_t r = 0; r < n; ++r) {
      Row row;
      row.reserve(nc);
      for (size_t c = 0; c < nc; ++c) {
        if (source_->null(r, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(source_->value(r, c)));
        }
      }
      copied_->rows.push_back(std::move(row));
    }
  });
  return copied_->rows;
}

std::optional<std::string_view> ResultSet::cell(size_t row, int column) const {
  if (column < 0) return std::nullopt;
  const auto c = static_cast<size_t>(column);
  if (source_) {
    if (c >= source_->columns() || source_->null(row, c)) return std::nullopt;
    return source_->value(row, c);
  }
  const Row& r = rows_[row];
  if (c >= r.size() || !r[c].has_value()) return std::nullopt;
  return std::string_view(*r[c]);
}

void ResultSet::AddRow(Row row) {
  if (source_) {
    rows_ = rows();
    source_.reset();
    copied_.reset();
  }
  rows_.push_back(std::move(row));
}

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
Result<T> NumberAt(const ResultSet& rs, size_t row, int column, T fallback,
                   Result<T> (*parse)(std::string_view)) {
  const std::optional<std::string_view> text = rs.cell(row, column);
  if (!text) return fallback;
  auto v = parse(*text);
  if (!v.ok()) {
    return Status::InvalidData("column \"" + rs.columns()[column] +
                               "\": " + v.status().message());
  }
  return v;
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

Result<int64_t> CellInt64At(const ResultSet& rs, size_t row, int column,
                            int64_t fallback) {
  return NumberAt<int64_t>(rs, row, column, fallback, ParseInt64);
}

Result<double> CellDoubleAt(const ResultSet& rs, size_t row, int column,
                            double fallback) {
  return NumberAt<double>(rs, row, column, fallback, ParseDouble);
}

}  // namespace pgconn
