#include "plan/env_file.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "config/dsn.h"
#include "config/guide_env.h"
#include "pgconn/config.h"
#include "util/numbers.h"

namespace pgconn {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool IsName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// After a closing quote only blanks and a comment may follow.
bool OnlyCommentLeft(std::string_view rest) {
  rest = TrimBlanks(rest);
  return rest.empty() || rest.front() == '#';
}

// Parses the text after '='. `error` receives why it failed.
std::optional<std::string> ParseValue(std::string_view raw,
                                      std::string* error) {
  raw = TrimBlanks(raw);
  if (raw.empty()) return std::string();
  if (raw.front() == '\'') {
    const size_t close = raw.find('\'', 1);
    if (close == std::string_view::npos) {
      *error = "the single quote is not closed on this line";
      return std::nullopt;
    }
    if (!OnlyCommentLeft(raw.substr(close + 1))) {
      *error = "unexpected text after the closing quote";
      return std::nullopt;
    }
    return std::string(raw.substr(1, close - 1));
  }
  if (raw.front() == '"') {
    std::string out;
    for (size_t i = 1; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '"') {
        if (!OnlyCommentLeft(raw.substr(i + 1))) {
          *error = "unexpected text after the closing quote";
          return std::nullopt;
        }
        return out;
      }
      if (c == '\\' && i + 1 < raw.size()) {
        const char next = raw[i + 1];
        if (next == '"' || next == '\\' || next == '$' || next == '`') {
          out += next;
          ++i;
          continue;
        }
        if (next == 'n') {
          out += '\n';
          ++i;
          continue;
        }
      }
      out += c;
    }
    *error = "the double quote is not closed on this line";
    return std::nullopt;
  }
  // Unquoted: a '#' starts a comment only after a blank, so "pa#ss" stays.
  for (size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && IsBlank(raw[i - 1])) {
      return std::string(TrimBlanks(raw.substr(0, i)));
    }
  }
  return std::string(raw);
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Every variable of the guide, in the order suggestions prefer.
std::vector<std::string_view> GuideVariables() {
  std::vector<std::string_view> known(std::begin(kGuidePoolVariables),
                                      std::end(kGuidePoolVariables));
  known.insert(known.end(), std::begin(kGuideConnectionVariables),
               std::end(kGuideConnectionVariables));
  known.push_back(kGuideDatabaseUrl);
  return known;
}

bool IsKnown(std::string_view name) {
  const std::vector<std::string_view> known = GuideVariables();
  return std::find(known.begin(), known.end(), name) != known.end();
}

// "DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and DB_NAME".
std::string ConnectionVariablesInWords() {
  std::string out;
  const size_t n = std::size(kGuideConnectionVariables);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += i + 1 == n ? " and " : ", ";
    out += kGuideConnectionVariables[i];
  }
  return out;
}

std::string Suggestion(std::string_view name) {
  std::string best;
  size_t best_distance = 3;  // suggest only close names
  for (auto k : GuideVariables()) {
    const size_t d = EditDistance(name, k);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(k);
    }
  }
  return best;
}

// The most a worker's DB_MAX_IDLE_TIME may be, in seconds.
constexpr double kMaxIdleTimeSeconds = 1e9;

class WorkerEnvReader {
 public:
  explicit WorkerEnvReader(const EnvFile& file) : file_(file) {}

  Result<WorkerEnv> Read() {
    WorkerEnv env;
    ReportDuplicatesAndUnknownNames(&env);
    if (Status s = ReadInt("DB_POOL_MIN", 0, kMaxPoolSize, &env.pool_min,
                           &env.pool_min_where);
        !s.ok()) {
      return s;
    }
    if (Status s = ReadInt("DB_POOL_MAX", 1, kMaxPoolSize, &env.pool_max,
                           &env.pool_max_where);
        !s.ok()) {
      return s;
    }
    std::string unused;
    if (Status s = ReadInt("DB_MAX_QUERIES", 1, 1'000'000'000'000,
                           &env.max_queries, &unused);
        !s.ok()) {
      return s;
    }
    if (Status s = ReadIdleTime(&env); !s.ok()) return s;
    if (Status s = CheckPort(); !s.ok()) return s;
    if (env.pool_min && env.pool_max && *env.pool_min > *env.pool_max) {
      return Status::InvalidArgument(
          env.pool_min_where +
          ": DB_POOL_MIN=" + std::to_string(*env.pool_min) +
          " is larger than DB_POOL_MAX=" + std::to_string(*env.pool_max) +
          " (line " + std::to_string(file_.Find("DB_POOL_MAX")->line) +
          "): the pool refuses to start");
    }
    return ReadDatabaseUrl(std::move(env));
  }

 private:
  // "file:line: NAME=" and what the number parser says about the value.
  Status Invalid(const EnvVariable& v, const Status& why,
                 std::string_view unit = "") const {
    std::string m = file_.Where(v) + ": " + v.name + "=" + why.message();
    if (!unit.empty()) m += " (" + std::string(unit) + ")";
    return Status::InvalidArgument(std::move(m));
  }

  void ReportDuplicatesAndUnknownNames(WorkerEnv* env) const {
    std::map<std::string, std::vector<const EnvVariable*>> by_name;
    std::vector<std::string> order;
    for (const EnvVariable& v : file_.variables) {
      auto& list = by_name[v.name];
      if (list.empty()) order.push_back(v.name);
      list.push_back(&v);
    }
    for (const std::string& name : order) {
      const auto& list = by_name[name];
      const EnvVariable& last = *list.back();
      if (list.size() > 1) {
        std::string lines;
        for (const EnvVariable* v : list) {
          if (!lines.empty()) lines += ", ";
          lines += std::to_string(v->line);
        }
        env->findings.push_back(
            {FindingSeverity::kWarning, name, file_.Where(last),
             name + " is set " + std::to_string(list.size()) +
                 " times (lines " + lines + "); the last one takes effect."});
      }
      const bool ours =
          name.rfind("DB_", 0) == 0 || name.rfind("DATABASE_", 0) == 0;
      if (ours && !IsKnown(name)) {
        const std::string hint = Suggestion(name);
        env->findings.push_back(
            {FindingSeverity::kWarning, name, file_.Where(last),
             name + " is not one of the guide's variables" +
                 (hint.empty() ? std::string()
                               : " (did you mean " + hint + "?)") +
                 "; the workers ignore it."});
      }
    }
  }

  Status ReadInt(std::string_view name, int64_t min, int64_t max,
                 std::optional<int64_t>* out, std::string* where) const {
    const EnvVariable* v = file_.Find(name);
    if (v == nullptr) return Status::Ok();
    auto n = ParseInt64InRange(v->value, min, max);
    if (!n.ok()) return Invalid(*v, n.status());
    *out = *n;
    *where = file_.Where(*v);
    return Status::Ok();
  }

  Status ReadIdleTime(WorkerEnv* env) const {
    const EnvVariable* v = file_.Find("DB_MAX_IDLE_TIME");
    if (v == nullptr) return Status::Ok();
    auto secs = ParseDoubleInRange(v->value, 0, kMaxIdleTimeSeconds);
    if (!secs.ok()) return Invalid(*v, secs.status(), "seconds");
    env->max_idle_time_seconds = *secs;
    if (*secs == 0) {
      env->findings.push_back(
          {FindingSeverity::kWarning, v->name, file_.Where(*v),
           "DB_MAX_IDLE_TIME=0 turns off closing idle connections: "
           "connections opened above DB_POOL_MIN stay open until the worker "
           "exits."});
    }
    return Status::Ok();
  }

  Status CheckPort() const {
    const EnvVariable* v = file_.Find("DB_PORT");
    if (v == nullptr) return Status::Ok();
    if (auto port = ParsePort(v->value); !port.ok()) {
      return Status::InvalidArgument(
          file_.Where(*v) + ": " + v->name + "=\"" + Excerpt(v->value) +
          "\" is not a port number (" + std::to_string(kMinPort) + "-" +
          std::to_string(kMaxPort) + ")");
    }
    return Status::Ok();
  }

  // Lists the variables of `names` that are set, with their lines.
  std::string SetVariables(const std::string_view* begin,
                           const std::string_view* end) const {
    std::string out;
    for (const std::string_view* n = begin; n != end; ++n) {
      if (const EnvVariable* v = file_.Find(*n)) {
        if (!out.empty()) out += ", ";
        out += v->name + " (line " + std::to_string(v->line) + ")";
      }
    }
    return out;
  }

  Result<WorkerEnv> ReadDatabaseUrl(WorkerEnv env) const {
    const EnvVariable* url = file_.Find(kGuideDatabaseUrl);
    if (url == nullptr) return env;
    const std::string where = file_.Where(*url);
    if (url->value.empty()) {
      env.findings.push_back({FindingSeverity::kWarning, url->name, where,
                              "DATABASE_URL is empty; read as unset."});
      return env;
    }
    // The URL may hold a password: the message never contains it.
    if (Status s = ValidateUrl(url->value); !s.ok()) {
      return Status::InvalidArgument(where + ": DATABASE_URL: " + s.message());
    }
    env.has_database_url = true;
    const std::string pools = SetVariables(std::begin(kGuidePoolVariables),
                                           std::end(kGuidePoolVariables));
    if (!pools.empty()) {
      env.findings.push_back(
          {FindingSeverity::kError, url->name, where,
           "DATABASE_URL is set, so the workers run in legacy mode and "
           "ignore " +
               pools +
               ": the pool settings this plan uses are not applied. Connect "
               "with " +
               ConnectionVariablesInWords() + " instead of DATABASE_URL."});
    }
    const std::string ignored =
        SetVariables(std::begin(kGuideConnectionVariables),
                     std::end(kGuideConnectionVariables));
    if (!ignored.empty()) {
      env.findings.push_back(
          {FindingSeverity::kWarning, url->name, where,
           "DATABASE_URL is set, so " + ignored + " are ignored."});
    }
    return env;
  }

  const EnvFile& file_;
};

}  // namespace

const EnvVariable* EnvFile::Find(std::string_view name) const {
  for (auto it = variables.rbegin(); it != variables.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

std::string EnvFile::Where(const EnvVariable& v) const {
  return path + ":" + std::to_string(v.line);
}

Result<EnvFile> ParseEnvFile(std::string_view text, std::string path) {
  EnvFile file;
  file.path = std::move(path);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = TrimBlanks(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t") {
      line = TrimBlanks(line.substr(7));
    }
    const std::string where = file.path + ":" + std::to_string(line_no);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      // The line is not repeated: it may be a secret missing its name.
      return Status::InvalidArgument(where + ": expected NAME=VALUE");
    }
    const std::string name(TrimBlanks(line.substr(0, eq)));
    if (!IsName(name)) {
      // Not repeated either: a URL with "?sslmode=" lands here.
      return Status::InvalidArgument(
          where + ": the text before '=' is not a variable name");
    }
    std::string error;
    auto value = ParseValue(line.substr(eq + 1), &error);
    if (!value)
      return Status::InvalidArgument(where + ": " + name + ": " + error);
    file.variables.push_back({name, std::move(*value), line_no});
  }
  return file;
}

Result<EnvFile> ReadEnvFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("--env-file " + path +
                                   ": cannot read: " + std::strerror(errno));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseEnvFile(buf.str(), path);
}

std::string_view FindingSeverityName(FindingSeverity s) {
  return s == FindingSeverity::kError ? "error" : "warning";
}

Result<WorkerEnv> ReadWorkerEnv(const EnvFile& file) {
  return WorkerEnvReader(file).Read();
}

}  // namespace pgconn
