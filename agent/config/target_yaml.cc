#include "config/target_yaml.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/dsn.h"
#include "config/value_checks.h"
#include "util/numbers.h"

namespace pgconn::detail {
namespace {

constexpr std::string_view kSslModes[] = {
    "disable", "allow", "prefer", "require", "verify-ca", "verify-full"};

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

// `pools:`: a list of pool declarations, each application once.
Status ParsePools(const YamlReader& r, const YAML::Node& v,
                  std::vector<PoolDeclaration>* pools) {
  if (!v.IsSequence()) {
    return Status::InvalidArgument(r.where(v) + ": \"pools\" must be a list");
  }
  for (const auto& p : v) {
    auto pool = ParsePool(r, p);
    if (!pool.ok()) return pool.status();
    for (const PoolDeclaration& other : *pools) {
      if (other.application == pool->application) {
        return Status::InvalidArgument(
            pool->origin + ": application \"" + pool->application +
            "\" is already declared at " + other.origin +
            "; declare each application's pool once (replicas x "
            "pool_max)");
      }
    }
    pools->push_back(std::move(*pool));
  }
  return Status::Ok();
}

Result<TargetKind> ParseTargetKind(const YamlReader& r, const YAML::Node& v,
                                   const std::string& s) {
  if (s == "postgres" || s == "postgresql") return TargetKind::kPostgres;
  if (s == "pgbouncer") return TargetKind::kPgBouncer;
  return Status::InvalidArgument(
      r.where(v) + ": \"type\": " + QuotedIfPlain(s, "the value") +
      " is not one of postgres, pgbouncer");
}

Status CheckSslMode(const YamlReader& r, const YAML::Node& v,
                    const std::string& s) {
  for (auto m : kSslModes) {
    if (m == s) return Status::Ok();
  }
  return Status::InvalidArgument(
      r.where(v) + ": \"sslmode\": " + QuotedIfPlain(s, "the value") +
      " is not one of disable, allow, prefer, require, verify-ca, "
      "verify-full");
}

// The keys whose value is one string: name, type, url, host, user,
// password, password_file, dbname, sslmode, sslrootcert.
Status ParseTargetString(const YamlReader& r, const std::string& key,
                         const YAML::Node& v, TargetConfig* t) {
  auto s = r.String(v, key);
  if (!s.ok()) return s.status();
  if (key == "name") {
    if (auto n = CheckTargetName(*s, r.where(v) + ": \"name\""); !n.ok()) {
      return n;
    }
    t->name = *s;
  } else if (key == "type") {
    auto kind = ParseTargetKind(r, v, *s);
    if (!kind.ok()) return kind.status();
    t->kind = *kind;
  } else if (key == "url") {
    if (auto u = ValidateConnectionString(*s); !u.ok()) {
      return Status::InvalidArgument(r.where(v) + ": \"url\": " + u.message());
    }
    t->url = Secret(*s);
  } else if (key == "host") {
    t->host = *s;
  } else if (key == "user") {
    t->user = *s;
  } else if (key == "password") {
    t->password = Secret(*s);
  } else if (key == "password_file") {
    t->password_file = *s;
  } else if (key == "dbname") {
    t->dbname = *s;
  } else if (key == "sslmode") {
    if (auto m = CheckSslMode(r, v, *s); !m.ok()) return m;
    t->sslmode = *s;
  } else if (key == "sslrootcert") {
    t->sslrootcert = *s;
  }
  return Status::Ok();
}

// One key of a target mapping (CheckKeys has refused unknown ones).
Status ParseTargetKey(const YamlReader& r, const std::string& key,
                      const YAML::Node& v, TargetConfig* t) {
  if (key == "pools") return ParsePools(r, v, &t->pools);
  if (key == "collectors") return ParseCollectorSwitches(r, v, &t->collectors);
  if (key == "server_log") {
    auto sl = ParseServerLog(r, v);
    if (!sl.ok()) return sl.status();
    t->server_log = std::move(*sl);
    return Status::Ok();
  }
  if (key == "peak_window") {
    auto d = r.Dur(v, key, kMaxPeakWindow);
    if (!d.ok()) return d.status();
    t->peak_window = *d;
    return Status::Ok();
  }
  if (key == "overhead") {
    auto o = r.Int(v, "overhead", 0, 100000);
    if (!o.ok()) return o.status();
    t->overhead = *o;
    return Status::Ok();
  }
  if (key == "port") {
    auto p = r.Int(v, "port", kMinPort, kMaxPort);
    if (!p.ok()) return p.status();
    t->port = std::to_string(*p);
    return Status::Ok();
  }
  return ParseTargetString(r, key, v, t);
}

// Any database but "pgbouncer" is a pooled one: its SHOW commands would go
// to PostgreSQL and every PgBouncer collector would fail.
Status CheckPgBouncerDatabase(const YamlReader& r, const YAML::Node& node,
                              const TargetConfig& t) {
  std::string db = t.dbname;
  if (auto fields = ParseConninfo(t.url.Reveal());
      !t.url.empty() && fields.ok()) {
    for (const auto& [k, v] : *fields) {
      if (k == "dbname") db = v;
    }
  }
  if (db.empty() || db == "pgbouncer") return Status::Ok();
  return Status::InvalidArgument(
      r.where(node[t.url.empty() ? "dbname" : "url"]) + ": target \"" + t.name +
      "\": a PgBouncer target reads the admin console, database "
      "\"pgbouncer\", not \"" +
      db + "\"");
}

// The rules across a target's keys, checked once all are read.
Status CheckTargetKeys(const YamlReader& r, const YAML::Node& node,
                       const TargetConfig& t) {
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
    return CheckPgBouncerDatabase(r, node, t);
  }
  return Status::Ok();
}

}  // namespace

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
    if (auto s = ParseTargetKey(r, key, kv.second, &t); !s.ok()) return s;
  }
  if (auto s = CheckTargetKeys(r, node, t); !s.ok()) return s;
  return t;
}

Status ParseTargetList(const YamlReader& r, const YAML::Node& v,
                       std::vector<TargetConfig>* targets) {
  if (!v.IsSequence()) {
    return Status::InvalidArgument(r.where(v) + ": \"targets\" must be a list");
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
        " targets; the limit is " + std::to_string(kMaxTargets) + " per agent");
  }
  for (const auto& tn : v) {
    auto t = ParseTarget(r, tn);
    if (!t.ok()) return t.status();
    targets->push_back(std::move(*t));
  }
  return Status::Ok();
}

}  // namespace pgconn::detail
