// Environment files (KEY=VALUE lines, as docker --env-file, systemd and
// shells read them) and the guide's worker variables in them: DB_POOL_MIN,
// DB_POOL_MAX, DB_MAX_QUERIES, DB_MAX_IDLE_TIME, DATABASE_URL, DB_HOST...
//
// Every error and finding names the file, the line and the variable. Values
// of DATABASE_URL and DB_PASSWORD are never repeated in a message.
#ifndef PGCONN_AGENT_PLAN_ENV_FILE_H_
#define PGCONN_AGENT_PLAN_ENV_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/status.h"

namespace pgconn {

struct EnvVariable {
  std::string name;
  std::string value;
  int line = 0;  // 1-based
};

// The variables of one file in file order; a name may appear twice.
struct EnvFile {
  std::string path;
  std::vector<EnvVariable> variables;

  // The definition that takes effect (the last one, as in a shell), or null.
  const EnvVariable* Find(std::string_view name) const;
  // "path:line" of a variable.
  std::string Where(const EnvVariable& v) const;
};

// Syntax: blank lines and lines starting with '#' are skipped; an optional
// `export ` prefix; NAME=VALUE with NAME matching [A-Za-z_][A-Za-z0-9_]*.
// VALUE is taken literally inside single quotes; inside double quotes the
// escapes are backslash followed by a double quote, a backslash, '$', '`' or
// 'n' (a newline); unquoted, surrounding blanks and a trailing
// " # comment" are dropped. Quotes must close on the same line. CRLF line
// endings and a UTF-8 byte order mark are accepted. `path` is used in
// messages only.
Result<EnvFile> ParseEnvFile(std::string_view text, std::string path);
Result<EnvFile> ReadEnvFile(const std::string& path);

enum class FindingSeverity {
  kWarning,  // worth knowing; the plan still holds
  kError,    // the plan does not describe what the workers will do
};
std::string_view FindingSeverityName(FindingSeverity s);  // "warning", "error"

// One lint finding. `where` is "file:line" (or the flag that set a value).
struct Finding {
  FindingSeverity severity = FindingSeverity::kWarning;
  std::string variable;
  std::string where;
  std::string message;  // a whole sentence, without `where`
};

// The guide's variables as a worker would read them.
struct WorkerEnv {
  std::optional<int64_t> pool_min;
  std::optional<int64_t> pool_max;
  std::optional<int64_t> max_queries;
  std::optional<double> max_idle_time_seconds;
  std::string pool_min_where, pool_max_where;  // "file:line"
  bool has_database_url = false;
  std::vector<Finding> findings;
};

// Reads and lints the guide's variables. Values that no worker could start
// with are errors returned as a Status naming file:line and the variable: a
// non-numeric or negative number, DB_POOL_MAX of 0, DB_POOL_MIN larger than
// DB_POOL_MAX, a malformed DATABASE_URL or DB_PORT. Everything else is a
// Finding: DATABASE_URL together with DB_POOL_* (legacy mode: the workers
// ignore the pool settings), DB_* variables that DATABASE_URL overrides,
// variables set twice, unknown DB_* names, DB_MAX_IDLE_TIME=0.
Result<WorkerEnv> ReadWorkerEnv(const EnvFile& file);

}  // namespace pgconn

#endif  // PGCONN_AGENT_PLAN_ENV_FILE_H_
