// Loads the canned PgBouncer admin-console answers in
// tests/fixtures/pgbouncer/<version>/<command>.txt (format in the README
// there).
#ifndef PGCONN_TESTS_PGBOUNCER_FIXTURES_H_
#define PGCONN_TESTS_PGBOUNCER_FIXTURES_H_

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pgconn/result_set.h"

namespace pgconn::testing {

inline std::vector<std::string> SplitFields(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, '|')) out.push_back(field);
  if (!line.empty() && line.back() == '|') out.emplace_back();
  return out;
}

// An empty ResultSet with no columns when the file is missing, so that the
// test fails on its assertions, naming the file.
inline ResultSet LoadPgBouncerFixture(const std::string& version,
                                      const std::string& command) {
  const std::string path = std::string(PGCONN_TEST_DATA_DIR) +
                           "/fixtures/pgbouncer/" + version + "/" + command +
                           ".txt";
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return ResultSet();
  ResultSet rs(SplitFields(line), {});
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ResultSet::Row row;
    for (std::string& f : SplitFields(line)) {
      if (f == "(null)") {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::move(f));
      }
    }
    rs.AddRow(std::move(row));
  }
  return rs;
}

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_PGBOUNCER_FIXTURES_H_
