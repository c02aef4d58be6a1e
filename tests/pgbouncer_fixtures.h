// Loads the canned PgBouncer admin-console answers in
// tests/fixtures/pgbouncer/<version>/<command>.txt (format in the README
// there).
#ifndef PGCONN_TESTS_PGBOUNCER_FIXTURES_H_
#define PGCONN_TESTS_PGBOUNCER_FIXTURES_H_

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collect/collector.h"
#include "pgbouncer/pgbouncer.h"
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

// Parses `rs` with `c` and, on success, stores the observation in `snap`
// under the collector's name, as a poll does.
inline Status ParseInto(const Collector& c, const ResultSet& rs,
                        Snapshot* snap) {
  auto parsed = c.Parse(rs);
  if (!parsed.ok()) return parsed.status();
  snap->Put(c.name(), std::move(*parsed));
  return Status::Ok();
}

// The PgBouncer observations of a snapshot side by side, with has_* flags
// for the collectors that have a part: what the tests read and build.
struct BouncerView {
  std::vector<PgBouncerPool> pools;
  std::vector<PgBouncerDatabase> databases;
  std::vector<PgBouncerStats> stats;
  std::map<std::string, int64_t> lists;
  PgBouncerConfig config;
  bool has_pools = false;
  bool has_databases = false;
  bool has_stats = false;
  bool has_lists = false;
  bool has_config = false;
};

inline BouncerView View(const Snapshot& snap) {
  BouncerView v;
  if (const auto* p = snap.Find<PgBouncerPools>()) {
    v.pools = p->pools;
    v.has_pools = true;
  }
  if (const auto* d = snap.Find<PgBouncerDatabases>()) {
    v.databases = d->databases;
    v.has_databases = true;
  }
  if (const auto* s = snap.Find<PgBouncerStatsTotals>()) {
    v.stats = s->stats;
    v.has_stats = true;
  }
  if (const auto* l = snap.Find<PgBouncerLists>()) {
    v.lists = l->lists;
    v.has_lists = true;
  }
  if (const auto* c = snap.Find<PgBouncerConfig>()) {
    v.config = *c;
    v.has_config = true;
  }
  return v;
}

// The snapshot a poll would have built from `v` (before its signals).
inline Snapshot SnapshotOf(const BouncerView& v) {
  Snapshot snap;
  if (v.has_pools) {
    PgBouncerPools p;
    p.pools = v.pools;
    Summarize(&p);
    snap.Put(std::move(p));
  }
  if (v.has_databases) snap.Put(PgBouncerDatabases{{}, v.databases});
  if (v.has_stats) snap.Put(PgBouncerStatsTotals{{}, v.stats});
  if (v.has_lists) snap.Put(PgBouncerLists{{}, v.lists});
  if (v.has_config) snap.Put(v.config);
  return snap;
}

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_PGBOUNCER_FIXTURES_H_
