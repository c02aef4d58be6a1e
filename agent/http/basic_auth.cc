#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <memory>

namespace pgconn {
namespace {

// Verified against when the user is unknown, so that an unknown user costs
// the same time as a wrong password (its password is not any string).
constexpr char kDummyHash[] =
    "$2b$10$CwTycUXWue0Thq9StjUM0uJ8.ThNzZy6CqgY2tZ3F3u6i9T9E5C2e";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned bits = 0;
  int count = 0;
  for (char c : in) {
    const int v = Base64Value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

bool CryptMatches(const std::string& password, const char* hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), hash, data.get(), sizeof(*data));
  if (out == nullptr) return false;
  const size_t n = std::char_traits<char>::length(hash);
  return std::char_traits<char>::length(out) == n &&
         CRYPTO_memcmp(out, hash, n) == 0;
}

}  // namespace

std::optional<BasicCredentials> ParseBasicAuthorization(
    std::string_view value) {
  constexpr std::string_view kScheme = "Basic ";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size() - 1; ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return std::nullopt;
    }
  }
  if (value[kScheme.size() - 1] != ' ') return std::nullopt;
  auto decoded = Base64Decode(value.substr(kScheme.size()));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon),
                          decoded->substr(colon + 1)};
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(std::move(users)) {}

bool BasicAuth::Cached(const std::string& user,
                       const std::string& password) const {
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(password.data()),
         password.size(), d.data());
  MutexLock lock(&mu_);
  auto it = verified_.find(user);
  return it != verified_.end() &&
         CRYPTO_memcmp(it->second.data(), d.data(), d.size()) == 0;
}

bool BasicAuth::Verify(const std::string& user,
                       const std::string& password) const {
  if (Cached(user, password)) return true;
  auto it = users_.find(user);
  if (it == users_.end()) {
    (void)CryptMatches(password, kDummyHash);
    return false;
  }
  if (!CryptMatches(password, it->second.c_str())) return false;
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(password.data()),
         password.size(), d.data());
  MutexLock lock(&mu_);
  verified_[user] = d;
  return true;
}

}  // namespace pgconn
