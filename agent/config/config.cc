#include "pgconn/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "config/data_source_env.h"
#include "config/dsn.h"
#include "config/guide_env.h"
#include "util/flags.h"
#include "util/numbers.h"

namespace pgconn {
namespace {

constexpr std::string_view kSslModes[] = {
    "disable", "allow", "prefer", "require", "verify-ca", "verify-full"};

std::string Where(std::string_view filename, const YAML::Mark& mark) {
  std::string out(filename);
  if (mark.is_null()) return out;
  out += ":" + std::to_string(mark.line + 1) + ":" +
         std::to_string(mark.column + 1);
  return out;
}

std::string Where(std::string_view filename, const YAML::Node& node) {
  return Where(filename, node.Mark());
}

// Numbers in YAML scalars, DB_PORT, listen addresses and durations may be
// padded with whitespace (a quoted " 5432 "); it is trimmed here because the
// number parser itself is strict.
std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// The most a duration may count, in seconds or in any one unit, and in
// all (about 31 years: nanoseconds of it still fit in 64 bits).
constexpr int64_t kMaxDurationNumber = 1'000'000'000;
constexpr int64_t kMaxDurationMs = kMaxDurationNumber * 1000;

// A key or a value of the operator's, repeated in a message only when it is
// short and made of name characters: anything else may be a mistyped
// secret, or megabytes.
bool IsPlain(std::string_view text, std::string_view extra = "") {
  return !text.empty() && text.size() <= 64 &&
         std::all_of(text.begin(), text.end(), [&](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                  c == '.' || c == '-' || c == '+' ||
                  extra.find(c) != std::string_view::npos;
         });
}

std::string QuotedIfPlain(std::string_view text, std::string_view instead) {
  return IsPlain(text) ? "\"" + std::string(text) + "\"" : std::string(instead);
}

std::string FormatLimit(Duration d) {
  const int64_t ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// The `target` label of every series and of every log line: at most 128
// bytes without blanks, control characters, quotes or backslashes. Anything
// else is most likely a quoting mistake that swallowed the next lines (and
// a password with them), so the name is not repeated.
Status CheckTargetName(std::string_view name, const std::string& where) {
  const bool ok =
      !name.empty() && name.size() <= 128 &&
      std::none_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '\'' || c == '"' || c == '\\';
      });
  if (ok) return Status::Ok();
  return Status::InvalidArgument(
      where +
      ": a target name has 1 to 128 bytes without blanks, control "
      "characters, quotes or backslashes");
}

// Walks the whole document before it is read: refuses a key repeated in
// one mapping (yaml-cpp keeps both and reads the first), and any value
// longer than kMaxScalarBytes, naming positions and never the value.
Status CheckTree(std::string_view filename, const YAML::Node& node, int depth) {
  if (depth > 16) {
    return Status::InvalidArgument(Where(filename, node) +
                                   ": nested more than 16 levels deep");
  }
  if (node.IsScalar() && node.Scalar().size() > kMaxScalarBytes) {
    return Status::InvalidArgument(Where(filename, node) + ": a value of " +
                                   std::to_string(node.Scalar().size()) +
                                   " bytes; the limit is " +
                                   std::to_string(kMaxScalarBytes));
  }
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (auto s = CheckTree(filename, item, depth + 1); !s.ok()) return s;
    }
  }
  if (!node.IsMap()) return Status::Ok();
  std::map<std::string, YAML::Mark> seen;
  for (const auto& kv : node) {
    if (auto s = CheckTree(filename, kv.first, depth + 1); !s.ok()) return s;
    if (auto s = CheckTree(filename, kv.second, depth + 1); !s.ok()) return s;
    if (!kv.first.IsScalar()) continue;  // refused later, with its place
    const auto [it, inserted] =
        seen.emplace(kv.first.Scalar(), kv.first.Mark());
    if (!inserted) {
      return Status::InvalidArgument(
          Where(filename, kv.first) + ": key " +
          QuotedIfPlain(kv.first.Scalar(), "(not shown)") +
          " is repeated; first at " + Where(filename, it->second));
    }
  }
  return Status::Ok();
}

// Reads YAML mappings with positions in every message.
class YamlReader {
 public:
  explicit YamlReader(std::string_view filename) : filename_(filename) {}

  Status RequireMap(const YAML::Node& node, std::string_view what) const {
    if (node.IsMap()) return Status::Ok();
    return Status::InvalidArgument(Where(filename_, node) + ": " +
                                   std::string(what) + " must be a mapping");
  }

  // Refuses keys outside `known`.
  Status CheckKeys(const YAML::Node& map, std::string_view what,
                   std::initializer_list<std::string_view> known) const {
    for (const auto& kv : map) {
      std::string key;
      try {
        key = kv.first.as<std::string>();
      } catch (const YAML::Exception&) {
        return Status::InvalidArgument(Where(filename_, kv.first) +
                                       ": keys in " + std::string(what) +
                                       " must be strings");
      }
      bool ok = false;
      for (auto k : known) ok = ok || k == key;
      if (!ok) {
        std::string list;
        for (auto k : known) {
          if (!list.empty()) list += ", ";
          list += k;
        }
        return Status::InvalidArgument(
            Where(filename_, kv.first) + ": unknown key " +
            QuotedIfPlain(key, "(not shown: long or not a name)") + " in " +
            std::string(what) + " (known keys: " + list + ")");
      }
    }
    return Status::Ok();
  }

  Result<std::string> String(const YAML::Node& node,
                             std::string_view key) const {
    if (!node.IsScalar()) {
      return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                     std::string(key) + "\" must be a string");
    }
    return node.Scalar();
  }

  Result<int> Int(const YAML::Node& node, std::string_view key, int min,
                  int max) const {
    if (!node.IsScalar()) {
      return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                     std::string(key) +
                                     "\" must be a whole number");
    }
    const std::string text = Trim(node.Scalar());
    auto v = ParseInt64InRange(text, min, max);
    if (!v.ok()) {
      // A quote that swallowed the next lines must not repeat them.
      const std::string why = IsPlain(text)
                                  ? v.status().message()
                                  : "the value is not a whole number from " +
                                        std::to_string(min) + " to " +
                                        std::to_string(max);
      return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                     std::string(key) + "\": " + why);
    }
    return static_cast<int>(*v);
  }

  Result<double> Ratio(const YAML::Node& node, std::string_view key) const {
    const std::string text = node.IsScalar() ? Trim(node.Scalar()) : "";
    auto v = ParseDouble(text);
    if (!node.IsScalar() || !v.ok()) {
      return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                     std::string(key) + "\" must be a number");
    }
    if (!IsHeadroomRatio(*v)) {
      return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                     std::string(key) + "\": " + Excerpt(text) +
                                     " is outside (0, 1]");
    }
    return v;
  }

  Result<Duration> Dur(const YAML::Node& node, std::string_view key,
                       Duration max) const {
    if (!node.IsScalar()) {
      return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                     std::string(key) +
                                     "\" must be a duration such as 5s");
    }
    auto d = ParseDuration(node.Scalar());
    if (!d.ok()) {
      const std::string why =
          IsPlain(Trim(node.Scalar()))
              ? d.status().message()
              : "the value is not a duration (examples: 500ms, 5s, 1m30s, 2h)";
      return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                     std::string(key) + "\": " + why);
    }
    if (d->count() <= 0) {
      return Status::InvalidArgument(
          Where(filename_, node) + ": \"" + std::string(key) +
          "\": " + Excerpt(node.Scalar()) + " must be positive");
    }
    if (*d > max) {
      return Status::InvalidArgument(
          Where(filename_, node) + ": \"" + std::string(key) +
          "\" is longer than its maximum, " + FormatLimit(max));
    }
    return d;
  }

  std::string where(const YAML::Node& node) const {
    return Where(filename_, node);
  }

 private:
  std::string filename_;
};

Result<PoolDeclaration> ParsePool(const YamlReader& r, const YAML::Node& node) {
  if (auto s = r.RequireMap(node, "a pool"); !s.ok()) return s;
  if (auto s = r.CheckKeys(node, "a pool",
                           {"application", "replicas", "pool_min", "pool_max"});
      !s.ok()) {
    return s;
  }
  PoolDeclaration pool;
  pool.origin = r.where(node);
  if (!node["application"]) {
    return Status::InvalidArgument(r.where(node) +
                                   ": a pool needs \"application\"");
  }
  auto app = r.String(node["application"], "application");
  if (!app.ok()) return app.status();
  pool.application = *app;
  // pg_stat_activity keeps at most NAMEDATALEN - 1 bytes of the name, so a
  // longer declaration could never match a connection.
  if (pool.application.empty() || pool.application.size() > 63) {
    return Status::InvalidArgument(
        r.where(node["application"]) +
        ": \"application\" must have 1 to 63 bytes (PostgreSQL truncates "
        "application_name to 63), not " +
        std::to_string(pool.application.size()));
  }
  if (!node["pool_max"]) {
    return Status::InvalidArgument(r.where(node) + ": pool \"" +
                                   pool.application + "\" needs \"pool_max\"");
  }
  auto max = r.Int(node["pool_max"], "pool_max", 1, kMaxPoolSize);
  if (!max.ok()) return max.status();
  pool.pool_max = *max;
  if (node["pool_min"]) {
    auto min = r.Int(node["pool_min"], "pool_min", 0, kMaxPoolSize);
    if (!min.ok()) return min.status();
    pool.pool_min = *min;
  }
  if (node["replicas"]) {
    auto rep = r.Int(node["replicas"], "replicas", 0, kMaxReplicas);
    if (!rep.ok()) return rep.status();
    pool.replicas = *rep;
  }
  if (pool.pool_min > pool.pool_max) {
    return Status::InvalidArgument(
        r.where(node["pool_min"]) + ": pool \"" + pool.application +
        "\": pool_min " + std::to_string(pool.pool_min) +
        " is larger than pool_max " + std::to_string(pool.pool_max));
  }
  return pool;
}

// `collectors:`: a mapping of collector names to true or false.
Status ParseCollectorSwitches(const YamlReader& r, const YAML::Node& node,
                              CollectorSwitches* out) {
  if (!node.IsMap()) {
    return Status::InvalidArgument(
        r.where(node) +
        ": \"collectors\" must be a mapping of collector "
        "names to true or false");
  }
  for (const auto& kv : node) {
    auto name = r.String(kv.first, "collectors");
    if (!name.ok()) return name.status();
    const YAML::Node& v = kv.second;
    bool on = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, on)) {
      return Status::InvalidArgument(
          r.where(v) + ": a collector is switched with true or false");
    }
    (*out)[*name] = CollectorSwitch{on, r.where(kv.first)};
  }
  return Status::Ok();
}

// A target's `server_log:` mapping: path, format, log_line_prefix.
Result<ServerLogConfig> ParseServerLog(const YamlReader& r,
                                       const YAML::Node& node) {
  if (auto s = r.RequireMap(node, "\"server_log\""); !s.ok()) return s;
  if (auto s = r.CheckKeys(node, "\"server_log\"",
                           {"path", "format", "log_line_prefix"});
      !s.ok()) {
    return s;
  }
  ServerLogConfig out;
  out.origin = r.where(node);
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    auto v = r.String(kv.second, key);
    if (!v.ok()) return v.status();
    if (key == "path") {
      out.path = *v;
    } else if (key == "log_line_prefix") {
      out.log_line_prefix = *v;
    } else if (*v == "stderr") {
      out.format = ServerLogFormat::kStderr;
    } else if (*v == "csvlog") {
      out.format = ServerLogFormat::kCsvlog;
    } else if (*v == "jsonlog") {
      out.format = ServerLogFormat::kJsonlog;
    } else {
      return Status::InvalidArgument(
          r.where(kv.second) + ": \"format\": \"" + Excerpt(*v) +
          "\" is not one of stderr, csvlog, jsonlog");
    }
  }
  if (out.path.empty()) {
    return Status::InvalidArgument(out.origin +
                                   ": \"server_log\" needs a \"path\"");
  }
  return out;
}

Result<TargetConfig> ParseTarget(const YamlReader& r, const YAML::Node& node) {
  if (auto s = r.RequireMap(node, "a target"); !s.ok()) return s;
  if (auto s = r.CheckKeys(
          node, "a target",
          {"name", "type", "url", "host", "port", "user", "password",
           "password_file", "dbname", "sslmode", "sslrootcert", "overhead",
           "pools", "collectors", "server_log", "peak_window"});
      !s.ok()) {
    return s;
  }
  TargetConfig t;
  t.origin = r.where(node);
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "pools") {
      if (!v.IsSequence()) {
        return Status::InvalidArgument(r.where(v) +
                                       ": \"pools\" must be a list");
      }
      for (const auto& p : v) {
        auto pool = ParsePool(r, p);
        if (!pool.ok()) return pool.status();
        for (const PoolDeclaration& other : t.pools) {
          if (other.application == pool->application) {
            return Status::InvalidArgument(
                pool->origin + ": application \"" + pool->application +
                "\" is already declared at " + other.origin +
                "; declare each application's pool once (replicas x "
                "pool_max)");
          }
        }
        t.pools.push_back(std::move(*pool));
      }
      continue;
    }
    if (key == "collectors") {
      if (auto s = ParseCollectorSwitches(r, v, &t.collectors); !s.ok()) {
        return s;
      }
      continue;
    }
    if (key == "server_log") {
      auto sl = ParseServerLog(r, v);
      if (!sl.ok()) return sl.status();
      t.server_log = std::move(*sl);
      continue;
    }
    if (key == "peak_window") {
      auto d = r.Dur(v, key, kMaxPeakWindow);
      if (!d.ok()) return d.status();
      t.peak_window = *d;
      continue;
    }
    if (key == "overhead") {
      auto o = r.Int(v, "overhead", 0, 100000);
      if (!o.ok()) return o.status();
      t.overhead = *o;
      continue;
    }
    if (key == "port") {
      auto p = r.Int(v, "port", kMinPort, kMaxPort);
      if (!p.ok()) return p.status();
      t.port = std::to_string(*p);
      continue;
    }
    auto s = r.String(v, key);
    if (!s.ok()) return s.status();
    if (key == "name") {
      if (auto n = CheckTargetName(*s, r.where(v) + ": \"name\""); !n.ok()) {
        return n;
      }
      t.name = *s;
    } else if (key == "type") {
      if (*s == "postgres" || *s == "postgresql") {
        t.kind = TargetKind::kPostgres;
      } else if (*s == "pgbouncer") {
        t.kind = TargetKind::kPgBouncer;
      } else {
        return Status::InvalidArgument(
            r.where(v) + ": \"type\": " + QuotedIfPlain(*s, "the value") +
            " is not one of postgres, pgbouncer");
      }
    } else if (key == "url") {
      if (auto u = ValidateConnectionString(*s); !u.ok()) {
        return Status::InvalidArgument(r.where(v) +
                                       ": \"url\": " + u.message());
      }
      t.url = Secret(*s);
    } else if (key == "host") {
      t.host = *s;
    } else if (key == "user") {
      t.user = *s;
    } else if (key == "password") {
      t.password = Secret(*s);
    } else if (key == "password_file") {
      t.password_file = *s;
    } else if (key == "dbname") {
      t.dbname = *s;
    } else if (key == "sslmode") {
      bool ok = false;
      for (auto m : kSslModes) ok = ok || m == *s;
      if (!ok) {
        return Status::InvalidArgument(
            r.where(v) + ": \"sslmode\": " + QuotedIfPlain(*s, "the value") +
            " is not one of disable, allow, prefer, require, verify-ca, "
            "verify-full");
      }
      t.sslmode = *s;
    } else if (key == "sslrootcert") {
      t.sslrootcert = *s;
    }
  }
  if (t.name.empty()) {
    return Status::InvalidArgument(r.where(node) +
                                   ": a target needs a \"name\"");
  }
  if (!t.url.empty() && (!t.host.empty() || !t.port.empty() ||
                         !t.user.empty() || !t.dbname.empty())) {
    return Status::InvalidArgument(
        r.where(node) + ": target \"" + t.name +
        "\" sets both \"url\" and host/port/user/dbname; use one or the other");
  }
  if (!t.password.empty() && !t.password_file.empty()) {
    return Status::InvalidArgument(r.where(node) + ": target \"" + t.name +
                                   "\" sets both \"password\" and "
                                   "\"password_file\"");
  }
  if (t.kind == TargetKind::kPgBouncer && !t.pools.empty()) {
    return Status::InvalidArgument(
        r.where(node["pools"]) + ": target \"" + t.name +
        "\": pools are declared on the PostgreSQL target, not on PgBouncer");
  }
  if (t.kind == TargetKind::kPgBouncer) {
    // Any other database is a pooled one: its SHOW commands would go to
    // PostgreSQL and every PgBouncer collector would fail.
    std::string db = t.dbname;
    if (auto fields = ParseConninfo(t.url.Reveal());
        !t.url.empty() && fields.ok()) {
      for (const auto& [k, v] : *fields) {
        if (k == "dbname") db = v;
      }
    }
    if (!db.empty() && db != "pgbouncer") {
      return Status::InvalidArgument(
          r.where(node[t.url.empty() ? "dbname" : "url"]) + ": target \"" +
          t.name +
          "\": a PgBouncer target reads the admin console, database "
          "\"pgbouncer\", not \"" +
          db + "\"");
    }
  }
  return t;
}

// A switch flag's value: none (true), or =true / =false.
Result<bool> SwitchValue(const FlagReader& r) {
  const auto& v = r.InlineValue();
  if (!v) return true;
  if (*v != "true" && *v != "false") {
    return Status::InvalidArgument("flag --" + r.name() +
                                   ": takes no value, or =true or =false");
  }
  return *v == "true";
}

bool IsEmptyYaml(const std::string& text) {
  try {
    return YAML::Load(text).IsNull();
  } catch (const YAML::Exception&) {
    return false;
  }
}

Duration MaxDuration(std::string_view key) {
  if (key == "poll_interval") return kMaxPollInterval;
  if (key == "connect_timeout") return kMaxConnectTimeout;
  if (key == "query_timeout") return kMaxQueryTimeout;
  if (key == "peak_window") return kMaxPeakWindow;
  return kMaxBackoff;
}

std::string EnvName(std::string_view host, std::string_view port,
                    std::string_view db) {
  std::string name(host.empty() ? "localhost" : host);
  if (!port.empty()) name += ":" + std::string(port);
  if (!db.empty()) name += "/" + std::string(db);
  return name;
}

// "db.internal:5432/app" from a URL or key=value string, for the `target`
// label of the environment's target.
std::string NameFromConnectionString(std::string_view conninfo) {
  auto fields = ParseConninfo(conninfo);
  std::string host, port, db;
  if (fields.ok()) {
    for (const auto& [k, v] : *fields) {
      if (k == "host") host = v;
      if (k == "port") port = v;
      if (k == "dbname") db = v;
    }
  }
  return EnvName(host, port, db);
}

}  // namespace

std::string_view TargetKindName(TargetKind kind) {
  return kind == TargetKind::kPgBouncer ? "pgbouncer" : "postgres";
}

Result<Duration> ParseDuration(std::string_view text) {
  const std::string t = Trim(text);
  if (t.empty()) return Status::InvalidArgument("empty duration");
  const std::string quoted = "\"" + Excerpt(t) + "\"";
  // A bare number means seconds (YAML users write `poll_interval: 5`).
  if (auto secs = ParseDouble(t); secs.ok()) {
    if (*secs < 0 || *secs > kMaxDurationNumber) {
      return Status::InvalidArgument(quoted + " is not a valid duration");
    }
    return Duration(static_cast<int64_t>(std::llround(*secs * 1000)));
  }
  const Status not_a_duration = Status::InvalidArgument(
      quoted + " is not a duration (examples: 500ms, 5s, 1m30s, 2h)");
  const Status too_long = Status::InvalidArgument(quoted + " is too long");
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < t.size()) {
    size_t j = i;
    while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) ++j;
    if (j == i) return not_a_duration;
    size_t k = j;
    while (k < t.size() && std::isalpha(static_cast<unsigned char>(t[k]))) ++k;
    const std::string unit = t.substr(j, k - j);
    int64_t ms_per = 0;
    if (unit == "ms") {
      ms_per = 1;
    } else if (unit == "s") {
      ms_per = 1000;
    } else if (unit == "m") {
      ms_per = 60'000;
    } else if (unit == "h") {
      ms_per = 3'600'000;
    } else if (unit == "d") {
      ms_per = 86'400'000;
    } else {
      return not_a_duration;
    }
    auto n = ParseInt64InRange(std::string_view(t).substr(i, j - i), 0,
                               kMaxDurationNumber);
    if (!n.ok()) return too_long;
    const int64_t ms = *n * ms_per;  // at most 8.64e16: no overflow
    if (ms > kMaxDurationMs) return too_long;
    if (total_ms > kMaxDurationMs - ms) return too_long;
    total_ms += ms;
    i = k;
  }
  return Duration(total_ms);
}

Result<Config> ParseConfigYaml(std::string_view text,
                               std::string_view filename) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(Where(filename, e.mark) +
                                   ": invalid YAML: " + e.msg);
  }
  Config cfg;
  if (root.IsNull()) return cfg;
  YamlReader r(filename);
  try {
    if (auto s = CheckTree(filename, root, 0); !s.ok()) return s;
    if (auto s = r.RequireMap(root, "the configuration"); !s.ok()) return s;
    if (auto s = r.CheckKeys(
            root, "the top level",
            {"targets", "poll_interval", "connect_timeout", "query_timeout",
             "backoff_max", "near_limit_threshold", "max_applications",
             "max_users", "max_databases", "listen_address", "log_level",
             "log_format", "collectors", "peak_window"});
        !s.ok()) {
      return s;
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (key == "targets") {
        if (!v.IsSequence()) {
          return Status::InvalidArgument(r.where(v) +
                                         ": \"targets\" must be a list");
        }
        // An empty list would otherwise fall back to the environment, and
        // monitor something the file did not ask for.
        if (v.size() == 0) {
          return Status::InvalidArgument(
              r.where(v) +
              ": \"targets\" is empty; list at least one target "
              "or leave the key out to use the environment");
        }
        if (v.size() > kMaxTargets) {
          return Status::InvalidArgument(
              r.where(v) + ": " + std::to_string(v.size()) +
              " targets; the limit is " + std::to_string(kMaxTargets) +
              " per agent");
        }
        for (const auto& tn : v) {
          auto t = ParseTarget(r, tn);
          if (!t.ok()) return t.status();
          cfg.targets.push_back(std::move(*t));
        }
      } else if (key == "poll_interval" || key == "connect_timeout" ||
                 key == "query_timeout" || key == "backoff_max") {
        auto d = r.Dur(v, key, MaxDuration(key));
        if (!d.ok()) return d.status();
        if (key == "poll_interval") cfg.poll_interval = *d;
        if (key == "connect_timeout") cfg.connect_timeout = *d;
        if (key == "query_timeout") cfg.query_timeout = *d;
        if (key == "backoff_max") cfg.backoff_max = *d;
      } else if (key == "peak_window") {
        auto d = r.Dur(v, key, kMaxPeakWindow);
        if (!d.ok()) return d.status();
        cfg.peak_window = *d;
      } else if (key == "collectors") {
        if (auto s = ParseCollectorSwitches(r, v, &cfg.collectors); !s.ok()) {
          return s;
        }
      } else if (key == "near_limit_threshold") {
        auto x = r.Ratio(v, key);
        if (!x.ok()) return x.status();
        cfg.near_limit_threshold = *x;
      } else if (key == "max_applications" || key == "max_users" ||
                 key == "max_databases") {
        auto n = r.Int(v, key, 1, 10000);
        if (!n.ok()) return n.status();
        if (key == "max_applications") cfg.max_applications = *n;
        if (key == "max_users") cfg.max_users = *n;
        if (key == "max_databases") cfg.max_databases = *n;
      } else if (key == "listen_address") {
        auto s = r.String(v, key);
        if (!s.ok()) return s.status();
        if (auto a = ParseListenAddress(*s); !a.ok()) {
          return Status::InvalidArgument(
              r.where(v) + ": \"listen_address\": " +
              (IsPlain(*s, ":[]") ? a.status().message()
                                  : "not HOST:PORT, [IPv6]:PORT or :PORT"));
        }
        cfg.listen_address = *s;
      } else if (key == "log_level") {
        auto s = r.String(v, key);
        if (!s.ok()) return s.status();
        auto l = ParseLogLevel(*s);
        if (!l.ok()) {
          return Status::InvalidArgument(
              r.where(v) + ": " +
              (IsPlain(*s) ? l.status().message()
                           : "\"log_level\" is not one of debug, info, warn, "
                             "error"));
        }
        cfg.log_level = *l;
      } else if (key == "log_format") {
        auto s = r.String(v, key);
        if (!s.ok()) return s.status();
        auto f = ParseLogFormat(*s);
        if (!f.ok()) {
          return Status::InvalidArgument(
              r.where(v) + ": " +
              (IsPlain(*s) ? f.status().message()
                           : "\"log_format\" is not one of logfmt, json"));
        }
        cfg.log_format = *f;
      }
    }
  } catch (const YAML::Exception& e) {
    // Defensive: every access above is type-checked, but yaml-cpp may still
    // throw on malformed documents.
    return Status::InvalidArgument(Where(filename, e.mark) + ": " + e.msg);
  }
  std::set<std::string> names;
  for (const auto& t : cfg.targets) {
    if (!names.insert(t.name).second) {
      return Status::InvalidArgument(t.origin + ": target name \"" + t.name +
                                     "\" is used twice");
    }
  }
  return cfg;
}

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<TargetConfig> TargetFromEnvironment(const EnvLookup& env,
                                           std::vector<std::string>* notices) {
  TargetConfig t;
  t.origin = "environment";
  auto get = [&](std::string_view n) -> std::string {
    auto v = env(n);
    return v ? *v : "";
  };
  const std::string url = get(kGuideDatabaseUrl);
  if (!url.empty()) {
    if (auto s = ValidateConnectionString(url); !s.ok()) {
      return Status::InvalidArgument("environment variable DATABASE_URL: " +
                                     s.message());
    }
    t.url = Secret(url);
    std::string ignored;
    for (std::string_view v : kGuideConnectionVariables) {
      if (env(v).has_value()) {
        if (!ignored.empty()) ignored += ",";
        ignored += v;
      }
    }
    for (std::string_view v : kDataSourceVariables) {
      if (env(v).has_value()) {
        if (!ignored.empty()) ignored += ",";
        ignored += v;
      }
    }
    if (env("DB_PASSWORD_FILE").has_value()) {
      if (!ignored.empty()) ignored += ",";
      ignored += "DB_PASSWORD_FILE";
    }
    if (!ignored.empty() && notices != nullptr) {
      notices->push_back("DATABASE_URL is set, so these are ignored: " +
                         ignored);
    }
    t.name = NameFromConnectionString(url);
  } else if (auto ds = TargetFromDataSource(env, notices); !ds.ok()) {
    return ds.status();
  } else if (ds->has_value()) {
    // postgres_exporter's variables, for a deployment that moves over.
    t = std::move(**ds);
    t.name = NameFromConnectionString(t.url.Reveal());
    const std::string ignored =
        SetVariables(env, {"DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD",
                           "DB_PASSWORD_FILE", "DB_NAME"});
    if (!ignored.empty() && notices != nullptr) {
      notices->push_back("DATA_SOURCE_* is set, so these are ignored: " +
                         ignored);
    }
  } else {
    t.host = get("DB_HOST");
    t.user = get("DB_USER");
    t.dbname = get("DB_NAME");
    if (auto pw = env("DB_PASSWORD"); pw.has_value()) t.password = Secret(*pw);
    // The *_FILE form of secrets (Docker and Kubernetes secrets): read at
    // every connect, and it wins over DB_PASSWORD as postgres_exporter's
    // DATA_SOURCE_PASS_FILE wins over DATA_SOURCE_PASS.
    if (auto pf = env("DB_PASSWORD_FILE"); pf.has_value() && !pf->empty()) {
      t.password_file = *pf;
      if (!t.password.empty() && notices != nullptr) {
        notices->push_back(
            "DB_PASSWORD_FILE is set, so DB_PASSWORD is ignored");
      }
      t.password = Secret();
    }
    if (auto port = env("DB_PORT"); port.has_value()) {
      auto p = ParsePort(Trim(*port));
      if (!p.ok()) {
        return Status::InvalidArgument(
            "environment variable DB_PORT=" + Excerpt(*port) +
            ": not a port number (" + p.status().message() + ")");
      }
      t.port = std::to_string(*p);
    }
    if (t.host.empty() && t.port.empty() && t.user.empty() &&
        t.dbname.empty() && t.password.empty() && t.password_file.empty()) {
      // Nothing of ours is set: libpq's PGHOST, PGPORT, ... and its defaults.
      auto pghost = env("PGHOST"), pgport = env("PGPORT"),
           pgdb = env("PGDATABASE");
      t.name = (pghost || pgport || pgdb)
                   ? EnvName(pghost.value_or(""), pgport.value_or(""),
                             pgdb.value_or(""))
                   : "default";
    } else {
      t.name = EnvName(t.host, t.port, t.dbname);
    }
  }
  if (auto n = env("PGCONN_TARGET_NAME"); n.has_value() && !n->empty()) {
    if (auto s = CheckTargetName(*n, "environment variable PGCONN_TARGET_NAME");
        !s.ok()) {
      return s;
    }
    t.name = *n;
  }
  return t;
}

namespace {

// The --web.* flags other than --web.listen-address; false if `name` is
// not one of them.
Result<bool> ParseWebFlag(const std::string& name, FlagReader& r,
                          WebFlags& web) {
  if (name == "web.enable-lifecycle") {
    if (const auto& v = r.InlineValue(); v && *v != "true" && *v != "false") {
      return Status::InvalidArgument("flag --" + name +
                                     ": takes no value, or =true or =false");
    }
    web.enable_lifecycle = !r.InlineValue() || *r.InlineValue() == "true";
    return true;
  }
  static const std::set<std::string> kValued = {
      "web.config.file",      "web.telemetry-path",   "web.max-connections",
      "web.max-header-bytes", "web.max-header-count", "web.header-timeout",
      "web.idle-timeout"};
  if (kValued.count(name) == 0) return false;
  auto v = r.Value();
  if (!v.ok()) return v.status();
  const std::string where = "flag --" + name + "=" + *v + ": ";
  if (name == "web.config.file") {
    web.config_file = *v;
  } else if (name == "web.telemetry-path") {
    if (v->empty() || (*v)[0] != '/' || *v == "/") {
      return Status::InvalidArgument(where + "must be a path like /metrics");
    }
    web.telemetry_path = *v;
  } else if (name == "web.header-timeout" || name == "web.idle-timeout") {
    auto d = ParseDuration(*v);
    if (!d.ok()) return Status::InvalidArgument(where + d.status().message());
    if (d->count() <= 0)
      return Status::InvalidArgument(where + "must be positive");
    (name == "web.header-timeout" ? web.header_timeout : web.idle_timeout) = *d;
  } else {
    auto n = ParseInt64InRange(Trim(*v), 1, 1 << 24);
    if (!n.ok()) return Status::InvalidArgument(where + n.status().message());
    (name == "web.max-connections"    ? web.max_connections
     : name == "web.max-header-bytes" ? web.max_header_bytes
                                      : web.max_header_count) = *n;
  }
  return true;
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  FlagReader r(args, "--help");
  while (true) {
    auto more = r.Next();
    if (!more.ok()) return more.status();
    if (!*more) break;
    const std::string& name = r.name();
    if (name == "help" || name == "version" || name == "once") {
      // --once=false is not --once.
      auto on = SwitchValue(r);
      if (!on.ok()) return on.status();
      (name == "help" ? f.help : name == "version" ? f.version : f.once) = *on;
      continue;
    }
    // --collector.NAME / --no-collector.NAME, as node_exporter spells them;
    // the names are checked against the registry at start-up.
    bool switched = false;
    for (const bool on : {true, false}) {
      const std::string_view prefix = on ? "collector." : "no-collector.";
      if (name.size() > prefix.size() &&
          std::string_view(name).substr(0, prefix.size()) == prefix) {
        auto given = SwitchValue(r);
        if (!given.ok()) return given.status();
        const bool value = *given == on;
        f.collectors[name.substr(prefix.size())] =
            CollectorSwitch{value, "flag --" + name};
        switched = true;
      }
    }
    if (switched) continue;
    auto web = ParseWebFlag(name, r, f.web);
    if (!web.ok()) return web.status();
    if (*web) continue;
    if (name != "config.file" && name != "web.listen-address" &&
        name != "poll.interval" && name != "log.level" &&
        name != "log.format") {
      return r.Unknown();
    }
    auto v = r.Value();
    if (!v.ok()) return v.status();
    const std::string where = "flag --" + name + "=" + *v + ": ";
    if (name == "config.file") {
      f.config_file = *v;
    } else if (name == "web.listen-address") {
      if (auto la = ParseListenAddress(*v); !la.ok()) {
        return Status::InvalidArgument(where + la.status().message());
      }
      f.listen_address = *v;
      f.listen_addresses.push_back(*v);
    } else if (name == "poll.interval") {
      auto d = ParseDuration(*v);
      if (!d.ok()) return Status::InvalidArgument(where + d.status().message());
      if (d->count() <= 0) {
        return Status::InvalidArgument(where + "must be positive");
      }
      if (*d > kMaxPollInterval) {
        return Status::InvalidArgument(where + "is longer than its maximum, " +
                                       FormatLimit(kMaxPollInterval));
      }
      f.poll_interval = *d;
    } else if (name == "log.level") {
      auto l = ParseLogLevel(*v);
      if (!l.ok()) return Status::InvalidArgument(where + l.status().message());
      f.log_level = *l;
    } else {
      auto l = ParseLogFormat(*v);
      if (!l.ok()) return Status::InvalidArgument(where + l.status().message());
      f.log_format = *l;
    }
  }
  return f;
}

std::string FlagsHelp(std::string_view program) {
  std::string connection_variables;
  for (std::string_view v : kGuideConnectionVariables) {
    if (!connection_variables.empty()) connection_variables += ", ";
    connection_variables += v;
  }
  std::ostringstream o;
  o << "usage: " << program << " [flags]\n"
    << "       " << program << " plan [flags]   (capacity planner; " << program
    << " plan --help)\n\n"
    << "PostgreSQL connection monitoring agent and Prometheus exporter.\n\n"
    << "Flags:\n"
    << "  --config.file=FILE          YAML configuration (targets, limits)\n"
    << "  --web.listen-address=ADDR   where to serve /metrics (default "
       ":9188)\n"
    << "                              (repeat the flag for several)\n"
    << "  --web.config.file=FILE      TLS and basic auth, exporter-toolkit's "
       "format\n"
    << "  --web.telemetry-path=PATH   where the metrics are (default "
       "/metrics)\n"
    << "  --web.max-connections=N     open HTTP connections; the oldest idle "
       "goes\n"
    << "                              first when full (default 512)\n"
    << "  --web.max-header-bytes=N    request line and headers (default "
       "16384)\n"
    << "  --web.max-header-count=N    request headers (default 100)\n"
    << "  --web.header-timeout=DUR    to send a request's headers (default "
       "5s)\n"
    << "  --web.idle-timeout=DUR      keep-alive wait for the next request "
       "(default 60s)\n"
    << "  --web.enable-lifecycle      serve POST /-/reload\n"
    << "  --poll.interval=DURATION    how often to poll each target "
       "(default 5s)\n"
    << "  --log.level=LEVEL           debug, info, warn, error (default "
       "info)\n"
    << "  --log.format=FORMAT         logfmt or json (default logfmt)\n"
    << "  --once                      poll every target once, print the "
       "metrics,\n"
    << "                              exit 0 if all were reached, 1 "
       "otherwise\n"
    << "  --[no-]collector.NAME       turn a collector on or off (list "
       "below)\n"
    << "  --health-check[=URL]        GET the running agent's /healthz "
       "(default\n"
    << "                              http://127.0.0.1:PORT/healthz), exit 0 "
       "if 200\n"
    << "  --version                   print the version and exit\n"
    << "  --help                      print this help and exit\n\n"
    << "Without a configured target the environment defines one: "
    << kGuideDatabaseUrl << ",\n"
    << "or " << connection_variables << "; libpq's PG* variables\n"
    << "and ~/.pgpass work as usual. Exit codes: 0 ok, 1 runtime failure, "
       "2 bad\n"
    << "configuration.\n"
    << "Every flag that takes a value can be set as PGCONN_<FLAG> (e.g.\n"
    << "PGCONN_WEB_LISTEN_ADDRESS); the command line wins. "
       "postgres_exporter's\n"
    << "DATA_SOURCE_NAME, DATA_SOURCE_URI/_USER/_PASS[_FILE] and "
       "DB_PASSWORD_FILE\n"
    << "are read too (docs/migrating-from-postgres_exporter.md).\n";
  return o.str();
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const std::string t(text);
  std::string host, port;
  if (!t.empty() && t[0] == '[') {
    const auto close = t.find(']');
    if (close == std::string::npos || close + 1 >= t.size() ||
        t[close + 1] != ':') {
      return Status::InvalidArgument("\"" + t +
                                     "\" is not HOST:PORT, [IPv6]:PORT or "
                                     ":PORT");
    }
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    const auto colon = t.rfind(':');
    if (colon == std::string::npos) {
      return Status::InvalidArgument("\"" + t +
                                     "\" is not HOST:PORT, [IPv6]:PORT or "
                                     ":PORT");
    }
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
  }
  // Port 0 asks the kernel for any free port.
  auto p = ParseInt64InRange(Trim(port), 0, kMaxPort);
  if (!p.ok()) {
    return Status::InvalidArgument("\"" + t + "\": port " +
                                   p.status().message());
  }
  ListenAddress out;
  out.host = host.empty() ? "0.0.0.0" : host;
  out.port = static_cast<int>(*p);
  return out;
}

Result<Secret> ReadPasswordFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::IoError("password_file " + path + ": is a directory");
  }
  std::ifstream in(path);
  if (!in) {
    return Status::IoError("password_file " + path +
                           ": cannot read: " + std::strerror(errno));
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return Secret(line);
}

Result<Config> LoadConfig(const Flags& flags, const EnvLookup& env) {
  Config cfg;
  if (flags.config_file) {
    const std::string where = "flag --config.file=" + *flags.config_file;
    struct stat st {};
    if (::stat(flags.config_file->c_str(), &st) != 0) {
      return Status::InvalidArgument(where +
                                     ": cannot read: " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::InvalidArgument(where + ": not a regular file");
    }
    if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileBytes) {
      return Status::InvalidArgument(where + ": " + std::to_string(st.st_size) +
                                     " bytes; the limit is " +
                                     std::to_string(kMaxConfigFileBytes));
    }
    std::ifstream in(*flags.config_file);
    if (!in) {
      return Status::InvalidArgument(where +
                                     ": cannot read: " + std::strerror(errno));
    }
    std::stringstream buf;
    buf << in.rdbuf();
    if (buf.str().size() > kMaxConfigFileBytes) {
      return Status::InvalidArgument(where + ": longer than the limit of " +
                                     std::to_string(kMaxConfigFileBytes) +
                                     " bytes");
    }
    auto parsed = ParseConfigYaml(buf.str(), *flags.config_file);
    if (!parsed.ok()) return parsed.status();
    // A file that says nothing is a mistake (a wrong path, a failed
    // deployment), not a request for the environment's target.
    if (parsed->targets.empty() && IsEmptyYaml(buf.str())) {
      return Status::InvalidArgument(where + ": the file is empty");
    }
    cfg = std::move(*parsed);
  }
  if (cfg.targets.empty()) {
    auto t = TargetFromEnvironment(env, &cfg.notices);
    if (!t.ok()) return t.status();
    cfg.targets.push_back(std::move(*t));
  }
  if (flags.listen_address) cfg.listen_address = *flags.listen_address;
  if (flags.poll_interval) cfg.poll_interval = *flags.poll_interval;
  if (flags.log_level) cfg.log_level = *flags.log_level;
  if (flags.log_format) cfg.log_format = *flags.log_format;
  for (const auto& [name, sw] : flags.collectors) cfg.collectors[name] = sw;

  // Checks that need the merged view.
  for (const auto& t : cfg.targets) {
    if (!t.password_file.empty()) {
      auto pw = ReadPasswordFile(t.password_file);
      if (!pw.ok()) {
        return Status::InvalidArgument(t.origin + ": target \"" + t.name +
                                       "\": " + pw.status().message());
      }
    }
  }
  return cfg;
}

}  // namespace pgconn
