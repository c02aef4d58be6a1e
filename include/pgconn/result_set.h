// The rows of one statement, in text form, detached from libpq so that
// collectors can be tested on canned rows. A session's results are read in
// place from libpq's result (a Source); they are copied into Rows only when
// rows() is first called, so a parser that reads cell() copies nothing.
#ifndef PGCONN_RESULT_SET_H_
#define PGCONN_RESULT_SET_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgconn/status.h"
#include "pgconn/thread_annotations.h"
#include "util/numbers.h"  // ParseInt64(), ParseDouble() for a cell's text

namespace pgconn {

// Value type; thread-compatible.
class ResultSet {
 public:
  using Cell = std::optional<std::string>;  // nullopt is SQL NULL
  using Row = std::vector<Cell>;

  // Cells owned elsewhere (libpq's PGresult), immutable, read in place.
  // Implementations are thread-safe for reading.
  class Source {
   public:
    virtual ~Source() = default;
    virtual size_t rows() const = 0;
    virtual size_t columns() const = 0;
    virtual bool null(size_t row, size_t column) const = 0;
    virtual std::string_view value(size_t row, size_t column) const = 0;
  };

  ResultSet() = default;
  ResultSet(std::vector<std::string> columns, std::vector<Row> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}
  // Cells read in place from `source`.
  static ResultSet InPlace(std::vector<std::string> columns,
                           std::shared_ptr<const Source> source);

  const std::vector<std::string>& columns() const { return columns_; }
  // Every row as a copy; of a Source, made on the first call (thread-safe).
  const std::vector<Row>& rows() const;
  size_t size() const { return source_ ? source_->rows() : rows_.size(); }
  // The text of cell (`row`, `column`) without a copy: nullopt for SQL NULL
  // and for a column the row lacks. Valid as long as this ResultSet (or a
  // copy of it) lives. Requires row < size().
  std::optional<std::string_view> cell(size_t row, int column) const;

  // Index of the column named `name`, or -1. Columns are always matched by
  // name, never by position: PgBouncer adds and renames them between
  // versions.
  int ColumnIndex(std::string_view name) const;
  // The first of `names` that exists, or -1 (for renamed columns).
  int ColumnIndex(std::initializer_list<std::string_view> names) const;

  void AddRow(Row row);

  // What `make` computes from these cells, made once per `key` and shared
  // by the copies of this ResultSet (two collectors that read the same
  // rows the same way, e.g. both folding applications): the first call
  // with `key` keeps make()'s value (unless null: a failure is not kept),
  // later ones return it. Of a ResultSet
  // that holds its own rows (canned rows, changed by AddRow), make() is
  // called every time. Thread-safe; `make` must not call Memo itself.
  template <typename T, typename Make>
  std::shared_ptr<const T> Memo(std::string_view key, Make make) const {
    if (!copied_) return make();
    MutexLock lock(&copied_->memo_mu);
    for (const auto& [k, v] : copied_->memo) {
      if (k == key) return std::static_pointer_cast<const T>(v);
    }
    std::shared_ptr<const T> made = make();
    if (made) copied_->memo.emplace_back(std::string(key), made);
    return made;
  }

 private:
  // What the copies of a Source-backed ResultSet share: its rows, copied
  // on demand, and the memo.
  struct Copied {
    std::once_flag once;
    std::vector<Row> rows;
    Mutex memo_mu;
    std::vector<std::pair<std::string, std::shared_ptr<const void>>> memo
        PGCONN_GUARDED_BY(memo_mu);
  };
  std::vector<std::string> columns_;
  std::vector<Row> rows_;                 // without a Source
  std::shared_ptr<const Source> source_;  // or cells in place
  std::shared_ptr<Copied> copied_;        // with source_
};

// Reads a column of a row as a number. A NULL or missing column yields
// `fallback`; text that is not a number is an error naming the column.
Result<int64_t> CellInt64(const ResultSet& rs, const ResultSet::Row& row,
                          int column, int64_t fallback);
Result<double> CellDouble(const ResultSet& rs, const ResultSet::Row& row,
                          int column, double fallback);
std::string CellText(const ResultSet::Row& row, int column,
                     std::string_view fallback = "");
// The same for cell (`row`, `column`) of `rs`, read in place.
Result<int64_t> CellInt64At(const ResultSet& rs, size_t row, int column,
                            int64_t fallback);
Result<double> CellDoubleAt(const ResultSet& rs, size_t row, int column,
                            double fallback);

}  // namespace pgconn

#endif  // PGCONN_RESULT_SET_H_
