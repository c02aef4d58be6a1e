#include "pgconn/result_set.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

TEST(ResultSetTest, FindsColumnsByNameAndByFirstOfSeveralNames) {
  ResultSet rs({"database", "reserve_pool_size", "pool_size"}, {});
  EXPECT_EQ(rs.ColumnIndex("pool_size"), 2);
  EXPECT_EQ(rs.ColumnIndex("nope"), -1);
  EXPECT_EQ(rs.ColumnIndex({"reserve_pool", "reserve_pool_size"}), 1);
  EXPECT_EQ(rs.ColumnIndex({"a", "b"}), -1);
}

TEST(ResultSetTest, ParsesNumbersStrictly) {
  EXPECT_EQ(*ParseInt64("42"), 42);
  EXPECT_EQ(*ParseInt64("-1"), -1);
  EXPECT_EQ(*ParseInt64("9223372036854775807"), INT64_MAX);
  for (std::string bad : {"", "4x", " 4", "1.5", "9223372036854775808"}) {
    EXPECT_FALSE(ParseInt64(bad).ok()) << bad;
  }
  EXPECT_DOUBLE_EQ(*ParseDouble("1.25"), 1.25);
  EXPECT_DOUBLE_EQ(*ParseDouble("12"), 12);
  for (std::string bad : {"", "x", "1.5s", "nan"}) {
    EXPECT_FALSE(ParseDouble(bad).ok()) << bad;
  }
}

TEST(ResultSetTest, CellsHandleNullMissingAndBadValues) {
  ResultSet rs({"a", "b"}, {{std::string("7"), std::nullopt},
                            {std::string("x"), std::string("2.5")}});
  EXPECT_EQ(*CellInt64(rs, rs.rows()[0], 0, -1), 7);
  EXPECT_EQ(*CellInt64(rs, rs.rows()[0], 1, -1), -1);  // NULL
  EXPECT_EQ(*CellInt64(rs, rs.rows()[0], 5, -9), -9);  // missing column
  auto bad = CellInt64(rs, rs.rows()[1], 0, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "column \"a\": \"x\" is not a whole number");
  EXPECT_DOUBLE_EQ(*CellDouble(rs, rs.rows()[1], 1, 0), 2.5);
  EXPECT_EQ(CellText(rs.rows()[0], 1, "fallback"), "fallback");
  EXPECT_EQ(CellText(rs.rows()[0], 0), "7");
}

}  // namespace
}  // namespace pgconn
