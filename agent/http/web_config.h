// exporter-toolkit's web configuration file (--web.config.file): TLS, basic
// auth users and extra response headers, in the format every Prometheus
// exporter reads. Pure parsing; the server decides when to read the file.
#ifndef PGCONN_AGENT_HTTP_WEB_CONFIG_H_
#define PGCONN_AGENT_HTTP_WEB_CONFIG_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgconn/status.h"

namespace pgconn {

// tls_server_config.client_auth_type, as Go's crypto/tls names them.
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  int min_version = 0x0303;  // TLS12, as OpenSSL numbers the versions
  int max_version = 0x0304;  // TLS13
};

struct WebConfig {
  bool tls = false;  // a tls_server_config with a certificate
  TlsServerConfig tls_config;
  // user -> bcrypt hash, in file order.
  std::map<std::string, std::string> basic_auth_users;
  // http_server_config.headers, added to every response.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Parses the YAML text; messages name `filename`, the line and the key,
// never a password hash. Relative file names are taken relative to the
// directory of `filename`, as exporter-toolkit does.
Result<WebConfig> ParseWebConfig(std::string_view text,
                                 std::string_view filename);

// Reads and parses the file.
Result<WebConfig> LoadWebConfig(const std::string& path);

}  // namespace pgconn

#endif  // PGCONN_AGENT_HTTP_WEB_CONFIG_H_
