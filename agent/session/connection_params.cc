#include "session/connection_params.h"

#include <algorithm>

#include "config/dsn.h"

namespace pgconn {

std::string ConnectionParams::Get(std::string_view keyword) const {
  std::string out;
  for (size_t i = 0; i < keywords.size(); ++i) {
    if (keywords[i] == keyword) out = values[i];
  }
  return out;
}

Result<ConnectionParams> BuildConnectionParams(const TargetConfig& target,
                                               const SessionOptions& options) {
  ConnectionParams p;
  auto add = [&p](std::string k, std::string v) {
    p.keywords.push_back(std::move(k));
    p.values.push_back(std::move(v));
  };
  std::string user_options;
  if (!target.url.empty()) {
    p.expand_dbname = true;
    add("dbname", target.url.Reveal());
    auto fields = ParseConninfo(target.url.Reveal());
    if (!fields.ok()) {
      return Status::InvalidArgument(
          "target \"" + target.name +
          "\": invalid URL: " + fields.status().message());
    }
    bool url_has_dbname = false;
    for (const auto& [k, v] : *fields) {
      if (k == "options") user_options = v;
      url_has_dbname = url_has_dbname || k == "dbname";
    }
    // Without one libpq would use the user name as the database; a
    // PgBouncer target always means the admin console.
    if (!url_has_dbname && target.kind == TargetKind::kPgBouncer) {
      add("dbname", "pgbouncer");
    }
  } else {
    if (!target.host.empty()) add("host", target.host);
    if (!target.port.empty()) add("port", target.port);
    if (!target.user.empty()) add("user", target.user);
    if (!target.dbname.empty()) {
      add("dbname", target.dbname);
    } else if (target.kind == TargetKind::kPgBouncer) {
      add("dbname", "pgbouncer");
    }
  }
  if (!target.sslmode.empty()) add("sslmode", target.sslmode);
  if (!target.sslrootcert.empty()) add("sslrootcert", target.sslrootcert);
  if (!target.password.empty()) {
    add("password", target.password.Reveal());
  } else if (!target.password_file.empty()) {
    auto pw = ReadPasswordFile(target.password_file);
    if (!pw.ok()) return pw.status();
    add("password", pw->Reveal());
  }
  add("application_name", options.application_name);
  // libpq takes whole seconds and treats anything below 2 as 2; the session
  // enforces the exact deadline itself.
  const auto ct_secs =
      std::max<int64_t>(2, (options.connect_timeout.count() + 999) / 1000);
  add("connect_timeout", std::to_string(ct_secs));
  if (target.kind == TargetKind::kPostgres) {
    // PgBouncer's admin console rejects unknown startup parameters, so only
    // PostgreSQL gets a statement_timeout.
    std::string opts = user_options;
    if (!opts.empty()) opts += " ";
    opts += "-c statement_timeout=" +
            std::to_string(options.statement_timeout.count());
    add("options", opts);
  }
  return p;
}

}  // namespace pgconn
