#include "http/web_config.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

constexpr char kHash[] =
    "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

TEST(WebConfigTest, EmptyFileMeansPlainHttpWithoutAuth) {
  auto c = ParseWebConfig("", "/etc/web.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->tls);
  EXPECT_TRUE(c->basic_auth_users.empty());
  EXPECT_TRUE(c->headers.empty());
}

TEST(WebConfigTest, ReadsEverySection) {
  const std::string text =
      std::string(
          "tls_server_config:\n"
          "  cert_file: server.crt\n"
          "  key_file: /abs/server.key\n"
          "  client_auth_type: RequireAndVerifyClientCert\n"
          "  client_ca_file: ca.crt\n"
          "  min_version: TLS13\n"
          "  max_version: TLS13\n"
          "http_server_config:\n"
          "  http2: false\n"
          "  headers:\n"
          "    X-Frame-Options: deny\n"
          "    Content-Security-Policy: \"\"\n"
          "basic_auth_users:\n"
          "  prometheus: ") +
      kHash + "\n";
  auto c = ParseWebConfig(text, "/etc/pgconn/web.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->tls);
  EXPECT_EQ(c->tls_config.cert_file, "/etc/pgconn/server.crt");
  EXPECT_EQ(c->tls_config.key_file, "/abs/server.key");
  EXPECT_EQ(c->tls_config.client_ca_file, "/etc/pgconn/ca.crt");
  EXPECT_EQ(c->tls_config.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(c->tls_config.min_version, 0x0304);
  EXPECT_EQ(c->tls_config.max_version, 0x0304);
  // A blank header is unset, as exporter-toolkit documents.
  ASSERT_EQ(c->headers.size(), 1u);
  EXPECT_EQ(c->headers[0].first, "X-Frame-Options");
  EXPECT_EQ(c->headers[0].second, "deny");
  ASSERT_EQ(c->basic_auth_users.size(), 1u);
  EXPECT_EQ(c->basic_auth_users.at("prometheus"), kHash);
}

TEST(WebConfigTest, ErrorsNameTheFileLineAndKey) {
  const std::string hash = kHash;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  "
       "client_auth_type: Sometimes\n",
       "w.yml:4:21: \"tls_server_config.client_auth_type\": \"Sometimes\" is "
       "not one of"},
      {"tls_server_config:\n  cert_file: a\n",
       "\"tls_server_config.key_file\": cert_file and key_file go together"},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  "
       "min_version: TLS9\n",
       "w.yml:4:16: \"tls_server_config.min_version\": \"TLS9\" is not one of"},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  "
       "min_version: TLS13\n  max_version: TLS12\n",
       "\"tls_server_config.min_version\": is above max_version"},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  "
       "client_auth_type: RequireAndVerifyClientCert\n",
       "\"tls_server_config.client_ca_file\": required"},
      {"tls_server_config:\n  cert_flie: a\n",
       "w.yml:2:3: \"tls_server_config.cert_flie\": unknown key"},
      {"basic_auth_user:\n  a: b\n",
       "w.yml:1:1: \"basic_auth_user\": unknown key"},
      {"basic_auth_users:\n  admin: hunter2\n",
       "w.yml:2:10: \"basic_auth_users.admin\": is not a bcrypt hash"},
      {"basic_auth_users: [a]\n", "\"basic_auth_users\": must be a mapping"},
      {"http_server_config:\n  headers:\n    Content-Length: 5\n",
       "\"http_server_config.headers.Content-Length\": unknown key"},
      {"tls_server_config: [\n", "w.yml:2:1: "},
      {"tls_server_config:\n  cert_file: a\n  key_file: b\n  "
       "client_allowed_sans: [x]\n",
       "w.yml:4:3: \"tls_server_config.client_allowed_sans\": is not "
       "supported by pgconn"},
  };
  for (const auto& [text, expected] : cases) {
    auto c = ParseWebConfig(text, "w.yml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.status().message().find(expected), std::string::npos)
        << c.status().message();
    EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
  }
}

TEST(WebConfigTest, MissingFileIsNamed) {
  auto c = LoadWebConfig("/nonexistent/web.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "--web.config.file=/nonexistent/web.yml: cannot read"),
            std::string::npos);
}

}  // namespace
}  // namespace pgconn
