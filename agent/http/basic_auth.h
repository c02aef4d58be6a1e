// HTTP basic authentication against bcrypt hashes (web config
// basic_auth_users), verified with libxcrypt's crypt_rn().
#ifndef PGCONN_AGENT_HTTP_BASIC_AUTH_H_
#define PGCONN_AGENT_HTTP_BASIC_AUTH_H_

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pgconn/thread_annotations.h"

namespace pgconn {

// User and password of an "Authorization: Basic ..." header value; nullopt
// when it is not one.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view value);

// Thread-safe. bcrypt costs tens of milliseconds by design, so the last
// password verified for each user is remembered (as its SHA-256) and a
// scrape with the same credentials pays a hash, not bcrypt. Comparisons are
// constant-time.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  bool enabled() const { return !users_.empty(); }
  // True if `user` is configured and `password` matches its hash.
  bool Verify(const std::string& user, const std::string& password) const;
  // True if Verify(user, password) would not run bcrypt.
  bool Cached(const std::string& user, const std::string& password) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  const std::map<std::string, std::string> users_;  // user -> bcrypt hash
  mutable Mutex mu_;
  mutable std::map<std::string, Digest> verified_ PGCONN_GUARDED_BY(mu_);
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_HTTP_BASIC_AUTH_H_
