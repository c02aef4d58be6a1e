// Golden-file comparison for exposition tests.
#ifndef PGCONN_TESTS_GOLDEN_FILE_H_
#define PGCONN_TESTS_GOLDEN_FILE_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace pgconn {

// Compares `actual` with tests/golden/<name>. With PGCONN_UPDATE_GOLDEN set,
// rewrites the file first (review the diff before committing it).
inline void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path =
      std::string(PGCONN_TEST_DATA_DIR) + "/golden/" + name;
  if (std::getenv("PGCONN_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
  }
  std::ifstream in(path);
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << "golden file " << path
      << " differs; rerun with PGCONN_UPDATE_GOLDEN=1 after review";
}

}  // namespace pgconn

#endif  // PGCONN_TESTS_GOLDEN_FILE_H_
