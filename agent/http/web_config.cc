#include "http/web_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace pgconn {
namespace {

// Positions and keys for messages: "web.yml:3:5: \"tls_server_config\":
// \"client_auth_type\": ...".
class WebConfigReader {
 public:
  explicit WebConfigReader(std::string_view filename) : filename_(filename) {
    const auto slash = filename_.rfind('/');
    if (slash != std::string::npos) dir_ = filename_.substr(0, slash + 1);
  }

  std::string Where(const YAML::Node& node) const {
    const YAML::Mark m = node.Mark();
    if (m.is_null()) return filename_;
    return filename_ + ":" + std::to_string(m.line + 1) + ":" +
           std::to_string(m.column + 1);
  }

  Status Error(const YAML::Node& node, const std::string& key,
               const std::string& what) const {
    return Status::InvalidArgument(Where(node) + ": \"" + key + "\": " + what);
  }

  // Keys outside `known` are refused: a typo must not turn TLS off.
  Status CheckKeys(const YAML::Node& map, const std::string& section,
                   const std::set<std::string>& known) const {
    if (!map.IsMap()) return Error(map, section, "must be a mapping");
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (known.count(key) == 0) {
        return Error(kv.first, section.empty() ? key : section + "." + key,
                     "unknown key");
      }
    }
    return Status::Ok();
  }

  Result<std::string> String(const YAML::Node& node,
                             const std::string& key) const {
    if (!node.IsScalar()) return Error(node, key, "must be a string");
    return node.Scalar();
  }

  std::string Path(const std::string& file) const {
    if (file.empty() || file[0] == '/') return file;
    return dir_ + file;
  }

 private:
  std::string filename_;
  std::string dir_;
};

Result<int> TlsVersion(const WebConfigReader& r, const YAML::Node& node,
                       const std::string& key) {
  auto s = r.String(node, key);
  if (!s.ok()) return s.status();
  static const std::pair<const char*, int> kVersions[] = {{"TLS10", 0x0301},
                                                          {"TLS11", 0x0302},
                                                          {"TLS12", 0x0303},
                                                          {"TLS13", 0x0304}};
  for (const auto& [name, v] : kVersions) {
    if (*s == name) return v;
  }
  return r.Error(node, key,
                 "\"" + *s + "\" is not one of TLS10, TLS11, TLS12, TLS13");
}

Result<ClientAuth> ClientAuthType(const WebConfigReader& r,
                                  const YAML::Node& node) {
  const std::string key = "tls_server_config.client_auth_type";
  auto s = r.String(node, key);
  if (!s.ok()) return s.status();
  static const std::pair<const char*, ClientAuth> kTypes[] = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, v] : kTypes) {
    if (*s == name) return v;
  }
  return r.Error(node, key,
                 "\"" + *s +
                     "\" is not one of NoClientCert, RequestClientCert, "
                     "RequireAnyClientCert, VerifyClientCertIfGiven, "
                     "RequireAndVerifyClientCert");
}

// exporter-toolkit keys this server does not implement: refused by name,
// rather than ignored, since each one narrows who may connect.
Status RefuseUnsupportedTlsKeys(const WebConfigReader& r,
                                const YAML::Node& node,
                                const std::string& section) {
  static const std::set<std::string> kUnsupported = {
      "cert",
      "key",
      "client_ca",
      "client_allowed_sans",
      "cipher_suites",
      "prefer_server_cipher_suites",
      "curve_preferences"};
  if (!node.IsMap()) return Status::Ok();
  for (const auto& kv : node) {
    if (kUnsupported.count(kv.first.Scalar()) != 0) {
      return r.Error(kv.first, section + "." + kv.first.Scalar(),
                     "is not supported by pgconn");
    }
  }
  return Status::Ok();
}

// Each key of tls_server_config (checked to be a known one) into `t`.
Status ReadTlsKeys(const WebConfigReader& r, const YAML::Node& node,
                   const std::string& section, TlsServerConfig& t) {
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string full = section + "." + key;
    const YAML::Node& v = kv.second;
    if (key == "cert_file" || key == "key_file" || key == "client_ca_file") {
      auto s = r.String(v, full);
      if (!s.ok()) return s.status();
      std::string& field = key == "cert_file"  ? t.cert_file
                           : key == "key_file" ? t.key_file
                                               : t.client_ca_file;
      field = r.Path(*s);
    } else if (key == "client_auth_type") {
      auto a = ClientAuthType(r, v);
      if (!a.ok()) return a.status();
      t.client_auth = *a;
    } else {
      auto ver = TlsVersion(r, v, full);
      if (!ver.ok()) return ver.status();
      (key == "min_version" ? t.min_version : t.max_version) = *ver;
    }
  }
  return Status::Ok();
}

// What the keys mean together: a certificate with its key, versions in
// order, a CA where client certificates are verified.
Status CheckTlsCombination(const WebConfigReader& r, const YAML::Node& node,
                           const std::string& section,
                           const TlsServerConfig& t) {
  if (t.cert_file.empty() != t.key_file.empty()) {
    return r.Error(
        node,
        t.cert_file.empty() ? section + ".cert_file" : section + ".key_file",
        "cert_file and key_file go together");
  }
  if (t.cert_file.empty()) {
    return r.Error(node, section + ".cert_file",
                   "required when tls_server_config is present");
  }
  if (t.min_version > t.max_version) {
    return r.Error(node, section + ".min_version", "is above max_version");
  }
  const bool verifies =
      t.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
      t.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && t.client_ca_file.empty()) {
    return r.Error(node, section + ".client_ca_file",
                   "required when client_auth_type verifies certificates");
  }
  return Status::Ok();
}

Status ParseTls(const WebConfigReader& r, const YAML::Node& node,
                WebConfig& out) {
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  const std::string section = "tls_server_config";
  if (auto s = RefuseUnsupportedTlsKeys(r, node, section); !s.ok()) return s;
  if (auto s = r.CheckKeys(node, section,
                           {"cert_file", "key_file", "client_auth_type",
                            "client_ca_file", "min_version", "max_version"});
      !s.ok()) {
    return s;
  }
  TlsServerConfig& t = out.tls_config;
  if (auto s = ReadTlsKeys(r, node, section, t); !s.ok()) return s;
  if (auto s = CheckTlsCombination(r, node, section, t); !s.ok()) return s;
  out.tls = true;
  return Status::Ok();
}

Status ParseHttpServer(const WebConfigReader& r, const YAML::Node& node,
                       WebConfig& out) {
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  const std::string section = "http_server_config";
  if (auto s = r.CheckKeys(node, section, {"http2", "headers"}); !s.ok()) {
    return s;
  }
  const YAML::Node headers = node["headers"];
  if (!headers || headers.IsNull()) return Status::Ok();
  // The headers exporter-toolkit allows; anything else could break HTTP
  // framing (Content-Length) or the scrape (Content-Type).
  static const std::set<std::string> kAllowed = {
      "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
      "X-XSS-Protection", "Strict-Transport-Security"};
  if (auto s = r.CheckKeys(headers, section + ".headers", kAllowed); !s.ok()) {
    return s;
  }
  for (const auto& kv : headers) {
    const std::string key = section + ".headers." + kv.first.Scalar();
    auto v = r.String(kv.second, key);
    if (!v.ok()) return v.status();
    if (v->find_first_of("\r\n") != std::string::npos) {
      return r.Error(kv.second, key, "must be one line");
    }
    if (!v->empty()) out.headers.emplace_back(kv.first.Scalar(), *v);
  }
  return Status::Ok();
}

Status ParseUsers(const WebConfigReader& r, const YAML::Node& node,
                  WebConfig& out) {
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  if (!node.IsMap()) {
    return r.Error(node, "basic_auth_users", "must be a mapping of user: hash");
  }
  for (const auto& kv : node) {
    const std::string user = kv.first.Scalar();
    const std::string key = "basic_auth_users." + user;
    if (user.empty() || user.find(':') != std::string::npos) {
      return r.Error(kv.first, key, "a user name is not empty and has no ':'");
    }
    if (!kv.second.IsScalar())
      return r.Error(kv.second, key, "must be a string");
    const std::string& hash = kv.second.Scalar();
    // bcrypt's modular-crypt prefixes; the hash itself is never quoted back.
    if (hash.size() != 60 ||
        (hash.rfind("$2a$", 0) != 0 && hash.rfind("$2b$", 0) != 0 &&
         hash.rfind("$2y$", 0) != 0)) {
      return r.Error(kv.second, key, "is not a bcrypt hash ($2a$/$2b$/$2y$)");
    }
    out.basic_auth_users[user] = hash;
  }
  return Status::Ok();
}

}  // namespace

Result<WebConfig> ParseWebConfig(std::string_view text,
                                 std::string_view filename) {
  const WebConfigReader r(filename);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(
        std::string(filename) + ":" + std::to_string(e.mark.line + 1) + ":" +
        std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  WebConfig out;
  if (root.IsNull()) return out;
  try {
    if (auto s = r.CheckKeys(
            root, "",
            {"tls_server_config", "http_server_config", "basic_auth_users"});
        !s.ok()) {
      return s;
    }
    if (auto s = ParseTls(r, root["tls_server_config"], out); !s.ok()) return s;
    if (auto s = ParseHttpServer(r, root["http_server_config"], out); !s.ok())
      return s;
    if (auto s = ParseUsers(r, root["basic_auth_users"], out); !s.ok())
      return s;
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string(filename) + ": " + e.msg);
  }
  return out;
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::InvalidArgument("--web.config.file=" + path +
                                   ": cannot read: " + std::strerror(errno));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseWebConfig(buf.str(), path);
}

}  // namespace pgconn
