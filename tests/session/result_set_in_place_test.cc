// A ResultSet whose cells are read in place from a Source (as PgSession's
// are, from libpq's PGresult).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "pgconn/result_set.h"

namespace pgconn {
namespace {

// Rows of text, "\x01" standing for NULL; counts the values read.
class TableSource final : public ResultSet::Source {
 public:
  explicit TableSource(std::vector<std::vector<std::string>> rows)
      : rows_(std::move(rows)) {}
  size_t rows() const override { return rows_.size(); }
  size_t columns() const override {
    return rows_.empty() ? 0 : rows_[0].size();
  }
  bool null(size_t row, size_t column) const override {
    return rows_[row][column] == "\x01";
  }
  std::string_view value(size_t row, size_t column) const override {
    ++reads;
    return rows_[row][column];
  }
  mutable std::atomic<int> reads{0};

 private:
  const std::vector<std::vector<std::string>> rows_;
};

TEST(ResultSetInPlaceTest, CellsAreTheSourcesBytesNotCopies) {
  auto source = std::make_shared<const TableSource>(
      std::vector<std::vector<std::string>>{{"app", "12"}, {"\x01", "x"}});
  const ResultSet rs =
      ResultSet::InPlace({"application", "connections"}, source);
  ASSERT_EQ(rs.size(), 2u);
  const auto app = rs.cell(0, 0);
  ASSERT_TRUE(app.has_value());
  EXPECT_EQ(*app, "app");
  // The view points into the source: nothing was copied.
  EXPECT_EQ(app->data(), source->value(0, 0).data());
  EXPECT_FALSE(rs.cell(1, 0).has_value());   // NULL
  EXPECT_FALSE(rs.cell(0, 2).has_value());   // no such column
  EXPECT_FALSE(rs.cell(0, -1).has_value());  // ColumnIndex's "absent"
  EXPECT_EQ(*CellInt64At(rs, 0, 1, -1), 12);
  EXPECT_EQ(*CellInt64At(rs, 1, 0, -1), -1);  // NULL: the fallback
  const auto bad = CellInt64At(rs, 1, 1, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidData);
  EXPECT_EQ(bad.status().message().rfind("column \"connections\": ", 0), 0u)
      << bad.status().message();
  EXPECT_DOUBLE_EQ(*CellDoubleAt(rs, 0, 1, 0), 12.0);
}

TEST(ResultSetInPlaceTest, RowsAreCopiedOnceOnFirstUseAndShared) {
  auto source = std::make_shared<const TableSource>(
      std::vector<std::vector<std::string>>{{"a", "\x01"}, {"b", "2"}});
  const ResultSet rs = ResultSet::InPlace({"x", "y"}, source);
  const ResultSet copy = rs;
  EXPECT_EQ(source->reads.load(), 0);
  // Two threads asking at once get one copy.
  const std::vector<ResultSet::Row>* seen[2] = {};
  std::thread t1([&] { seen[0] = &rs.rows(); });
  std::thread t2([&] { seen[1] = &copy.rows(); });
  t1.join();
  t2.join();
  EXPECT_EQ(seen[0], seen[1]);
  EXPECT_EQ(source->reads.load(), 3);  // three non-NULL cells, once
  const std::vector<ResultSet::Row> expected = {{"a", std::nullopt},
                                                {"b", "2"}};
  EXPECT_EQ(rs.rows(), expected);
  EXPECT_EQ(source->reads.load(), 3);
}

TEST(ResultSetInPlaceTest, AddingARowDetachesFromTheSource) {
  auto source = std::make_shared<const TableSource>(
      std::vector<std::vector<std::string>>{{"a"}});
  ResultSet rs = ResultSet::InPlace({"x"}, source);
  const ResultSet before = rs;
  rs.AddRow({"b"});
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(*rs.cell(0, 0), "a");
  EXPECT_EQ(*rs.cell(1, 0), "b");
  EXPECT_EQ(before.size(), 1u);  // a copy taken before is unchanged
  EXPECT_EQ(source.use_count(), 2);
}

TEST(ResultSetInPlaceTest, MemoIsMadeOncePerKeyAndSharedByCopies) {
  auto source = std::make_shared<const TableSource>(
      std::vector<std::vector<std::string>>{{"a"}, {"b"}});
  const ResultSet rs = ResultSet::InPlace({"application"}, source);
  const ResultSet copy = rs;  // a collector's copy of the same result
  int made = 0;
  auto make = [&] {
    ++made;
    return std::make_shared<const int>(made);
  };
  const auto first = rs.Memo<int>("fold", make);
  const auto again = copy.Memo<int>("fold", make);
  EXPECT_EQ(made, 1);
  EXPECT_EQ(first.get(), again.get());
  // Another key (another folding) is made anew.
  EXPECT_EQ(*rs.Memo<int>("fold other", make), 2);
  EXPECT_EQ(made, 2);
  // A failure (null) is not kept: the next call makes it again.
  int failures = 0;
  auto fail = [&] {
    ++failures;
    return std::shared_ptr<const int>();
  };
  EXPECT_EQ(rs.Memo<int>("failing", fail), nullptr);
  EXPECT_EQ(rs.Memo<int>("failing", fail), nullptr);
  EXPECT_EQ(failures, 2);
  // Another result (the next poll's) shares nothing with this one.
  const ResultSet next = ResultSet::InPlace({"application"}, source);
  EXPECT_EQ(*next.Memo<int>("fold", make), 3);
}

TEST(ResultSetInPlaceTest, CannedRowsAreNotMemoized) {
  // Rows a test builds (and may change with AddRow) are read every time.
  ResultSet rs({"application"}, {{std::string("a")}});
  int made = 0;
  auto make = [&] { return std::make_shared<const int>(++made); };
  rs.Memo<int>("fold", make);
  rs.AddRow({std::string("b")});
  EXPECT_EQ(*rs.Memo<int>("fold", make), 2);
}

}  // namespace
}  // namespace pgconn
