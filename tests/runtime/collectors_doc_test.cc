// docs/metrics.md's Collectors table names every collector of the
// registries (agent/postgres/registry.cc, agent/pgbouncer/registry.cc) and
// no other: a collector added without its doc row fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "pgbouncer/registry.h"
#include "postgres/registry.h"

namespace pgconn {
namespace {

// The `names` of the first cell of each row under "## Collectors".
std::set<std::string> DocCollectors() {
  std::ifstream in(PGCONN_TEST_DATA_DIR "/../docs/metrics.md");
  std::stringstream all;
  all << in.rdbuf();
  const std::string doc = all.str();
  std::istringstream section(doc.substr(doc.find("\n## Collectors\n")));
  std::set<std::string> names;
  bool in_table = false;
  for (std::string line; std::getline(section, line);) {
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;
      continue;
    }
    in_table = true;
    const std::string cell = line.substr(1, line.find('|', 1) - 1);
    for (size_t a = cell.find('`'); a != std::string::npos;) {
      const size_t b = cell.find('`', a + 1);
      names.insert(cell.substr(a + 1, b - a - 1));
      a = cell.find('`', b + 1);
    }
  }
  return names;
}

TEST(CollectorsDocTest, TheTableNamesEveryCollectorAndNoOther) {
  std::set<std::string> registry;
  for (const auto* table : {&PostgresCollectors(), &PgBouncerCollectors()}) {
    for (const CollectorEntry& e : *table) registry.emplace(e.name);
  }
  EXPECT_EQ(DocCollectors(), registry);
}

}  // namespace
}  // namespace pgconn
