#include "config/data_source_env.h"

#include <cctype>

#include "config/dsn.h"

namespace pgconn {
namespace {

// RFC 3986 userinfo: everything but unreserved characters percent-encoded,
// so a user name such as "ops@corp" survives inside the URL.
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

// The first line of a *_FILE variable's file, trimmed as postgres_exporter
// trims it.
Result<std::string> ReadValueFile(std::string_view variable,
                                  const std::string& path) {
  auto content = ReadPasswordFile(path);
  if (!content.ok()) {
    return Status::InvalidArgument("environment variable " +
                                   std::string(variable) + ": " +
                                   content.status().message());
  }
  std::string v = content->Reveal();
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) {
    v.pop_back();
  }
  size_t b = 0;
  while (b < v.size() && std::isspace(static_cast<unsigned char>(v[b]))) ++b;
  return v.substr(b);
}

// A second URL in the text: ",postgresql://" or ",postgres://". A comma
// alone is not one: libpq's own multi-host form is postgresql://a,b/db.
int CountUrls(std::string_view text) {
  int n = 1;
  for (size_t i = text.find(','); i != std::string_view::npos;
       i = text.find(',', i + 1)) {
    if (IsConnectionUrl(text.substr(i + 1))) ++n;
  }
  return n;
}

void Append(std::string* list, std::string_view name) {
  if (name.empty()) return;
  if (!list->empty()) *list += ",";
  *list += name;
}

bool IsSet(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  return v.has_value() && !v->empty();
}

// The variables a target was made from, and those set but ignored: the
// notice names both.
struct Usage {
  std::string used;
  std::string ignored;
};

// DATA_SOURCE_NAME: one connection string, URL or key=value.
Status FromDataSourceName(const EnvLookup& env, TargetConfig* t, Usage* usage) {
  const std::string dsn = *env("DATA_SOURCE_NAME");
  if (const int n = CountUrls(dsn); n > 1) {
    return Status::InvalidArgument(
        "environment variable DATA_SOURCE_NAME: holds " + std::to_string(n) +
        " comma-separated connection strings (postgres_exporter's "
        "multi-target form); give each database its own target in "
        "--config.file (docs/migrating-from-postgres_exporter.md)");
  }
  if (auto s = ValidateConnectionString(dsn); !s.ok()) {
    return Status::InvalidArgument("environment variable DATA_SOURCE_NAME: " +
                                   s.message());
  }
  t->url = Secret(dsn);
  usage->used = "DATA_SOURCE_NAME";
  usage->ignored =
      SetVariables(env, {"DATA_SOURCE_URI", "DATA_SOURCE_URI_FILE",
                         "DATA_SOURCE_USER", "DATA_SOURCE_USER_FILE",
                         "DATA_SOURCE_PASS", "DATA_SOURCE_PASS_FILE"});
  return Status::Ok();
}

// postgres_exporter's pairs: the *_FILE form first, then the plain one.
Result<std::optional<std::string>> Pick(const EnvLookup& env,
                                        std::string_view file_var,
                                        std::string_view var, Usage* usage) {
  if (IsSet(env, file_var)) {
    auto v = ReadValueFile(file_var, *env(file_var));
    if (!v.ok()) return v.status();
    Append(&usage->used, file_var);
    if (env(var).has_value()) Append(&usage->ignored, var);
    return std::optional<std::string>(*v);
  }
  if (IsSet(env, var)) {
    Append(&usage->used, var);
    return std::optional<std::string>(*env(var));
  }
  return std::optional<std::string>();
}

// The password stays out of the URL: a file is read again at every
// connect (rotation), a value is a Secret of its own.
void PickPassword(const EnvLookup& env, TargetConfig* t, Usage* usage) {
  if (IsSet(env, "DATA_SOURCE_PASS_FILE")) {
    t->password_file = *env("DATA_SOURCE_PASS_FILE");
    Append(&usage->used, "DATA_SOURCE_PASS_FILE");
    if (env("DATA_SOURCE_PASS").has_value()) {
      Append(&usage->ignored, "DATA_SOURCE_PASS");
    }
  } else if (IsSet(env, "DATA_SOURCE_PASS")) {
    t->password = Secret(*env("DATA_SOURCE_PASS"));
    Append(&usage->used, "DATA_SOURCE_PASS");
  }
}

// "host:port/db?sslmode=disable", without the scheme, as postgres_exporter
// expects it (a scheme given anyway is tolerated), with the user in front.
std::string UrlOf(const std::string& uri,
                  const std::optional<std::string>& user) {
  std::string rest = uri;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (rest.rfind(scheme, 0) == 0) rest.erase(0, scheme.size());
  }
  std::string url = "postgresql://";
  if (user.has_value() && !user->empty()) {
    url += PercentEncode(*user);
    url += '@';
  }
  return url + rest;
}

// DATA_SOURCE_URI[_FILE] with DATA_SOURCE_USER[_FILE] and
// DATA_SOURCE_PASS[_FILE]. False when no URI is set.
Result<bool> FromDataSourceUri(const EnvLookup& env,
                               std::vector<std::string>* notices,
                               TargetConfig* t, Usage* usage) {
  auto uri = Pick(env, "DATA_SOURCE_URI_FILE", "DATA_SOURCE_URI", usage);
  if (!uri.ok()) return uri.status();
  if (!uri->has_value()) {
    const std::string orphans =
        SetVariables(env, {"DATA_SOURCE_USER", "DATA_SOURCE_USER_FILE",
                           "DATA_SOURCE_PASS", "DATA_SOURCE_PASS_FILE"});
    if (!orphans.empty() && notices != nullptr) {
      notices->push_back("DATA_SOURCE_URI is not set, so these are ignored: " +
                         orphans);
    }
    return false;
  }
  auto user = Pick(env, "DATA_SOURCE_USER_FILE", "DATA_SOURCE_USER", usage);
  if (!user.ok()) return user.status();
  PickPassword(env, t, usage);
  const std::string url = UrlOf(**uri, *user);
  if (auto s = ValidateConnectionString(url); !s.ok()) {
    return Status::InvalidArgument(
        "environment variable " +
        std::string(IsSet(env, "DATA_SOURCE_URI_FILE") ? "DATA_SOURCE_URI_FILE"
                                                       : "DATA_SOURCE_URI") +
        ": " + s.message());
  }
  t->url = Secret(url);
  return true;
}

}  // namespace

std::string SetVariables(const EnvLookup& env,
                         std::initializer_list<std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (env(n).has_value()) Append(&out, n);
  }
  return out;
}

Result<std::optional<TargetConfig>> TargetFromDataSource(
    const EnvLookup& env, std::vector<std::string>* notices) {
  TargetConfig t;
  t.origin = "environment";
  Usage usage;
  if (IsSet(env, "DATA_SOURCE_NAME")) {
    if (auto s = FromDataSourceName(env, &t, &usage); !s.ok()) return s;
  } else {
    auto found = FromDataSourceUri(env, notices, &t, &usage);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<TargetConfig>();
  }
  if (notices != nullptr) {
    std::string n = "connection from postgres_exporter's " + usage.used;
    if (!usage.ignored.empty()) n += "; ignored: " + usage.ignored;
    notices->push_back(n);
  }
  return std::optional<TargetConfig>(std::move(t));
}

}  // namespace pgconn
