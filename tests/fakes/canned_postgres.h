// Canned answers of a PostgreSQL server, keyed by collector name. The fake
// server splits the agent's batch into statements, recognises each
// collector's statement by its tag (StatementTag) and answers it from the
// map, so that adding a collector changes no test that does not look at it.
#ifndef PGCONN_TESTS_FAKES_CANNED_POSTGRES_H_
#define PGCONN_TESTS_FAKES_CANNED_POSTGRES_H_

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/result_set.h"
#include "pgconn/status.h"

namespace pgconn {

using CannedAnswers = std::map<std::string, ResultSet, std::less<>>;

// A ResultSet from tab-separated text: a header line of column names, then
// one line per row; \N is NULL.
inline ResultSet ParseCannedRows(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    size_t start = 0;
    while (true) {
      const size_t tab = l.find('\t', start);
      cells.push_back(l.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    return cells;
  };
  std::getline(in, line);
  ResultSet rs(split(line), {});
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ResultSet::Row row;
    for (const std::string& cell : split(line)) {
      row.push_back(cell == "\\N" ? ResultSet::Cell() : ResultSet::Cell(cell));
    }
    rs.AddRow(std::move(row));
  }
  return rs;
}

// tests/fixtures/postgres/canned/<collector>.tsv: the canned answers of the
// collectors that no test builds in code.
inline CannedAnswers CannedFixtureAnswers() {
  CannedAnswers out;
  const std::string dir =
      std::string(PGCONN_TEST_DATA_DIR) + "/fixtures/postgres/canned";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const std::string suffix = ".tsv";
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::ifstream in(dir + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    out[name.substr(0, name.size() - suffix.size())] =
        ParseCannedRows(text.str());
  }
  closedir(d);
  return out;
}

// What the PostgreSQL collectors would receive for a server with
// `max_connections` and the given idle and active connections of
// application "worker"; the fixture files answer the other collectors.
inline CannedAnswers CannedPostgresAnswers(int max_connections, int idle,
                                           int active) {
  CannedAnswers out = CannedFixtureAnswers();
  auto s = [](auto v) { return std::optional<std::string>(std::to_string(v)); };
  auto t = [](const char* v) { return std::optional<std::string>(v); };
  out["settings"] =
      ResultSet({"server_version_num", "max_connections",
                 "superuser_reserved_connections", "reserved_connections"},
                {{t("150020"), s(max_connections), t("3"), std::nullopt}});
  // The scan's activity rows: one per application, state, address and
  // wait event type (idle sessions wait for their client).
  ResultSet activity({"application", "state", "client_address",
                      "wait_event_type", "connections", "lock_waiting",
                      "oldest_state_seconds", "oldest_transaction_seconds"},
                     {});
  if (idle > 0) {
    activity.AddRow({t("worker"), t("idle"), t("10.0.0.1"), t("Client"),
                     s(idle), t("0"), t("10"), t("0")});
  }
  if (active > 0) {
    activity.AddRow({t("worker"), t("active"), t("10.0.0.1"), std::nullopt,
                     s(active), t("0"), t("1"), t("1")});
  }
  out["activity"] = std::move(activity);
  out["databases"] = ResultSet({"name", "connection_limit", "connections"},
                               {{t("postgres"), t("-1"), s(idle + active)}});
  out["users"] = ResultSet({"name", "connection_limit", "connections"},
                           {{t("app"), t("-1"), s(idle + active)}});
  out["backends"] =
      ResultSet({"backend_type", "backends"}, {{t("checkpointer"), t("1")}});
  return out;
}

// The collector a statement belongs to, from its "/* pgconn:NAME */" tag;
// "" for an untagged statement.
inline std::string TaggedCollector(std::string_view statement) {
  const std::string_view open = "/* pgconn:";
  const size_t at = statement.find(open);
  if (at == std::string_view::npos) return "";
  const size_t end = statement.find(" */", at);
  if (end == std::string_view::npos) return "";
  return std::string(
      statement.substr(at + open.size(), end - at - open.size()));
}

// The answer to a statement tagged with `names`: the collector's canned
// answer, or for a statement that collectors share (see RunCollectors) their
// answers in one result, each row marked with its collector in column
// "part" and NULL in the other collectors' columns, as the server answers
// the shared pg_stat_activity scan. In a shared statement a collector
// without an answer has no rows of its own: it reads its partners' (as the
// scan's parts that only sum the backends' rows do). Fails when a
// statement's only collector, or every one, has no answer.
inline Result<ResultSet> SharedAnswer(const CannedAnswers& answers,
                                      const std::vector<std::string>& names) {
  std::vector<const ResultSet*> parts;
  std::vector<std::string> answered;
  for (const std::string& name : names) {
    auto it = answers.find(name);
    if (it == answers.end()) continue;
    parts.push_back(&it->second);
    answered.push_back(name);
  }
  if (parts.empty()) {
    return Status(StatusCode::kQueryFailed,
                  "no canned answer for collector \"" + names.front() + "\"");
  }
  if (names.size() == 1) return *parts[0];
  std::vector<std::string> columns = {"part"};
  for (const ResultSet* p : parts) {
    for (const std::string& c : p->columns()) {
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) {
        columns.push_back(c);
      }
    }
  }
  ResultSet shared(columns, {});
  for (size_t i = 0; i < parts.size(); ++i) {
    for (const ResultSet::Row& row : parts[i]->rows()) {
      ResultSet::Row r(columns.size());
      r[0] = answered[i];
      for (size_t c = 0; c < parts[i]->columns().size() && c < row.size();
           ++c) {
        r[shared.ColumnIndex(parts[i]->columns()[c])] = row[c];
      }
      shared.AddRow(std::move(r));
    }
  }
  return shared;
}

// Every collector tagged at the start of `statement` ("" for an untagged
// one), in order: a shared statement carries several tags.
inline std::vector<std::string> TaggedCollectors(std::string_view statement) {
  std::vector<std::string> out;
  const std::string_view open = "/* pgconn:";
  size_t at = statement.find(open);
  if (at == std::string_view::npos) return {""};
  while (at != std::string_view::npos) {
    const size_t end = statement.find(" */", at);
    if (end == std::string_view::npos) break;
    out.emplace_back(
        statement.substr(at + open.size(), end - at - open.size()));
    at = end + 4;  // " */ "
    if (statement.substr(at, open.size()) != open) break;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

// Answers `sql` (one statement or the agent's batch) from `answers`, and the
// server-clock statements with an advancing clock. A collector without an
// answer fails the statement, as a server error would.
inline Result<std::vector<ResultSet>> AnswerFrom(const CannedAnswers& answers,
                                                 std::string_view sql) {
  std::vector<ResultSet> out;
  double clock = 1;
  size_t start = 0;
  while (start < sql.size()) {
    size_t end = sql.find(";\n", start);
    if (end == std::string_view::npos) end = sql.size();
    const std::string_view statement = sql.substr(start, end - start);
    start = end + 2;
    if (statement.find("server_clock") != std::string_view::npos) {
      out.push_back(ResultSet({"server_clock"}, {{std::to_string(clock)}}));
      clock += 0.001;
      continue;
    }
    // Every statement that reads the scan carries the backends' rows (the
    // activity part), a collector running alone too.
    std::vector<std::string> tags = TaggedCollectors(statement);
    if (statement.find("pg_stat_get_activity(NULL)") !=
            std::string_view::npos &&
        std::find(tags.begin(), tags.end(), "activity") == tags.end()) {
      tags.emplace_back("activity");
    }
    auto answer = SharedAnswer(answers, tags);
    if (!answer.ok()) return answer.status();
    out.push_back(std::move(*answer));
  }
  return out;
}

}  // namespace pgconn

#endif  // PGCONN_TESTS_FAKES_CANNED_POSTGRES_H_
