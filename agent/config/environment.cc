// The target the environment describes when the configuration file lists
// none: the guide's DATABASE_URL or DB_* variables, postgres_exporter's
// DATA_SOURCE_* (data_source_env.cc), libpq's PG* defaults, and
// PGCONN_TARGET_NAME.
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/data_source_env.h"
#include "config/dsn.h"
#include "config/guide_env.h"
#include "config/value_checks.h"
#include "pgconn/config.h"
#include "util/numbers.h"

namespace pgconn {
namespace {

std::string EnvName(std::string_view host, std::string_view port,
                    std::string_view db) {
  // Appended piece by piece: GCC 12 at -O2 warns (-Wrestrict, an error in
  // the Release image) about name += ":" + std::string(port) once this is
  // inlined.
  std::string name(host.empty() ? "localhost" : host);
  if (!port.empty()) {
    name += ':';
    name += port;
  }
  if (!db.empty()) {
    name += '/';
    name += db;
  }
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

// Appends `name` to the comma-separated `list` when the variable is set
// (even to "").
void AppendSet(const EnvLookup& env, std::string_view name, std::string* list) {
  if (!env(name).has_value()) return;
  if (!list->empty()) *list += ",";
  *list += name;
}

// DATABASE_URL wins over every other variable of ours and the exporter's.
Result<TargetConfig> TargetFromDatabaseUrl(const EnvLookup& env,
                                           const std::string& url,
                                           std::vector<std::string>* notices) {
  if (auto s = ValidateConnectionString(url); !s.ok()) {
    return Status::InvalidArgument("environment variable DATABASE_URL: " +
                                   s.message());
  }
  TargetConfig t;
  t.origin = "environment";
  t.url = Secret(url);
  std::string ignored;
  for (std::string_view v : kGuideConnectionVariables) {
    AppendSet(env, v, &ignored);
  }
  for (std::string_view v : kDataSourceVariables) AppendSet(env, v, &ignored);
  AppendSet(env, "DB_PASSWORD_FILE", &ignored);
  if (!ignored.empty() && notices != nullptr) {
    notices->push_back("DATABASE_URL is set, so these are ignored: " + ignored);
  }
  t.name = NameFromConnectionString(url);
  return t;
}

// postgres_exporter's variables, for a deployment that moves over.
TargetConfig TargetFromExporterVariables(const EnvLookup& env, TargetConfig t,
                                         std::vector<std::string>* notices) {
  t.name = NameFromConnectionString(t.url.Reveal());
  const std::string ignored =
      SetVariables(env, {"DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD",
                         "DB_PASSWORD_FILE", "DB_NAME"});
  if (!ignored.empty() && notices != nullptr) {
    notices->push_back("DATA_SOURCE_* is set, so these are ignored: " +
                       ignored);
  }
  return t;
}

// The guide's DB_HOST, DB_PORT, DB_USER, DB_PASSWORD[_FILE], DB_NAME; with
// none of them set, libpq's PGHOST, PGPORT, ... and its defaults.
Result<TargetConfig> TargetFromGuideVariables(
    const EnvLookup& env, std::vector<std::string>* notices) {
  TargetConfig t;
  t.origin = "environment";
  t.host = env("DB_HOST").value_or("");
  t.user = env("DB_USER").value_or("");
  t.dbname = env("DB_NAME").value_or("");
  if (auto pw = env("DB_PASSWORD"); pw.has_value()) t.password = Secret(*pw);
  // The *_FILE form of secrets (Docker and Kubernetes secrets): read at
  // every connect, and it wins over DB_PASSWORD as postgres_exporter's
  // DATA_SOURCE_PASS_FILE wins over DATA_SOURCE_PASS.
  if (auto pf = env("DB_PASSWORD_FILE"); pf.has_value() && !pf->empty()) {
    t.password_file = *pf;
    if (!t.password.empty() && notices != nullptr) {
      notices->push_back("DB_PASSWORD_FILE is set, so DB_PASSWORD is ignored");
    }
    t.password = Secret();
  }
  if (auto port = env("DB_PORT"); port.has_value()) {
    auto p = ParsePort(detail::Trim(*port));
    if (!p.ok()) {
      return Status::InvalidArgument(
          "environment variable DB_PORT=" + Excerpt(*port) +
          ": not a port number (" + p.status().message() + ")");
    }
    t.port = std::to_string(*p);
  }
  if (t.host.empty() && t.port.empty() && t.user.empty() && t.dbname.empty() &&
      t.password.empty() && t.password_file.empty()) {
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
  return t;
}

Result<TargetConfig> TargetFromVariables(const EnvLookup& env,
                                         std::vector<std::string>* notices) {
  if (std::string url = env(kGuideDatabaseUrl).value_or(""); !url.empty()) {
    return TargetFromDatabaseUrl(env, url, notices);
  }
  auto ds = TargetFromDataSource(env, notices);
  if (!ds.ok()) return ds.status();
  if (ds->has_value()) {
    return TargetFromExporterVariables(env, std::move(**ds), notices);
  }
  return TargetFromGuideVariables(env, notices);
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<TargetConfig> TargetFromEnvironment(const EnvLookup& env,
                                           std::vector<std::string>* notices) {
  auto t = TargetFromVariables(env, notices);
  if (!t.ok()) return t.status();
  if (auto n = env("PGCONN_TARGET_NAME"); n.has_value() && !n->empty()) {
    if (auto s = detail::CheckTargetName(
            *n, "environment variable PGCONN_TARGET_NAME");
        !s.ok()) {
      return s;
    }
    t->name = *n;
  }
  return t;
}

}  // namespace pgconn
