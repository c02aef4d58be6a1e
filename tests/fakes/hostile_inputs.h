// Deterministic hostile inputs that carry a known password: URLs,
// connection strings, YAML files and environment files, mutated the way
// hand-written and generated secrets go wrong (an unencoded '/', '@', '%',
// quotes, spaces, stray bytes). Shared by the secrecy tests of config,
// plan and the agent binary.
#ifndef PGCONN_TESTS_FAKES_HOSTILE_INPUTS_H_
#define PGCONN_TESTS_FAKES_HOSTILE_INPUTS_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace pgconn::testing {

// The password is kPasswordHead + (hostile characters) + kPasswordTail:
// neither half may ever be printed, whatever lands between them.
inline constexpr const char* kPasswordHead = "Zq7SekHd";
inline constexpr const char* kPasswordTail = "Tl9xWret";

inline bool ContainsPassword(const std::string& text) {
  return text.find(kPasswordHead) != std::string::npos ||
         text.find(kPasswordTail) != std::string::npos;
}

class HostileInputs {
 public:
  explicit HostileInputs(uint64_t seed) : rng_(seed) {}

  std::string Password() {
    std::string p = kPasswordHead;
    const int n = Below(4);
    for (int i = 0; i < n; ++i) p += Hostile();
    return p + kPasswordTail;
  }

  // A postgresql:// URL whose password is in the user-info part or in the
  // query string, with a few hostile characters elsewhere too (never in
  // place of the delimiters around the password).
  std::string Url() {
    const std::string pw = Password();
    std::string user = Mutated("app"), host = Mutated("127.0.0.1");
    std::string port = Below(3) == 0 ? Mutated("1") : "1";
    std::string db = Mutated("app");
    const char* scheme = Below(2) ? "postgresql://" : "postgres://";
    std::string query;
    if (Below(3) == 0) query = "?" + Mutated("sslmode=disable");
    if (Below(4) == 0) {
      return scheme + user + "@" + host + ":" + port + "/" + db + "?" +
             Mutated("application_name=x") + "&password=" + pw;
    }
    return scheme + user + ":" + pw + "@" + host + ":" + port + "/" + db +
           query;
  }

  // A key=value connection string with the password in it.
  std::string Conninfo() {
    const std::string pw = Password();
    std::vector<std::string> parts = {"host=" + Mutated("127.0.0.1"), "port=1",
                                      "user=" + Mutated("app")};
    switch (Below(3)) {
      case 0:
        parts.push_back("password=" + pw);
        break;
      case 1:
        parts.push_back("password='" + pw + "'");
        break;
      default:
        parts.push_back("password = " + pw);
    }
    if (Below(2)) parts.push_back(Mutated("sslmode=require"));
    std::shuffle(parts.begin(), parts.end(), rng_);
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
    return out;
  }

  // A configuration file with the password inline, in a URL or as a key's
  // neighbour, then a few byte mutations anywhere except inside the
  // password.
  std::string Yaml() {
    const std::string pw = Password();
    const std::string quoted = "'" + Escaped(pw, '\'') + "'";
    std::string head = "poll_interval: 5s\ntargets:\n  - name: main\n";
    std::string body, protect = Escaped(pw, '\'');
    switch (Below(3)) {
      case 0:
        body =
            "    host: 127.0.0.1\n    port: 1\n    password: " + quoted + "\n";
        break;
      case 1: {
        const std::string url = Url();
        body = "    url: '" + Escaped(url, '\'') + "'\n";
        protect = Escaped(url, '\'');  // its own mutations are enough
        break;
      }
      default:
        body = "    host: 127.0.0.1\n    password: " + quoted +
               "\n    sslmode: " + Mutated("disable") + "\n";
    }
    std::string tail = Below(2) ? "max_users: 10\n" : "";
    // One call per statement: the order of the draws must not depend on the
    // compiler's order of evaluating operands.
    std::string out = MutatedBytes(head);
    out += MutatedBytes(body, protect);
    out += MutatedBytes(tail);
    return out;
  }

  int Below(int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng_);
  }

 private:
  std::string Hostile() {
    static const std::vector<std::string> kPieces = {
        "/", "@",  ":",  "?", "#", "%", "%zz", "%2F",  "%40",  "&", "=", " ",
        "'", "\"", "\\", "[", "]", ",", "\t",  "\xff", "\xc3", "+", "$", "!"};
    return kPieces[Below(static_cast<int>(kPieces.size()))];
  }
  std::string Mutated(std::string s) {
    const int n = Below(3);
    for (int i = 0; i < n; ++i) {
      const size_t at =
          static_cast<size_t>(Below(static_cast<int>(s.size()) + 1));
      s.insert(at, Hostile());
    }
    return s;
  }
  static std::string Escaped(const std::string& s, char quote) {
    std::string out;
    for (char c : s) {
      out += c;
      if (c == quote) out += c;  // YAML single quotes: '' is one '
    }
    return out;
  }
  // Up to two byte mutations (insert, delete, replace) of `s`, none inside
  // `protect` (the password) or on the byte on either side of it.
  std::string MutatedBytes(std::string s, const std::string& protect = "") {
    const int n = Below(3);
    for (int i = 0; i < n && !s.empty(); ++i) {
      const size_t p = protect.empty() ? std::string::npos : s.find(protect);
      const size_t at = static_cast<size_t>(Below(static_cast<int>(s.size())));
      if (p != std::string::npos && at + 1 >= p && at <= p + protect.size()) {
        continue;
      }
      switch (Below(3)) {
        case 0:
          s.insert(at, Hostile());
          break;
        case 1:
          s.erase(at, 1);
          break;
        default:
          s[at] = Hostile()[0];
      }
    }
    return s;
  }

  std::mt19937_64 rng_;
};

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_FAKES_HOSTILE_INPUTS_H_
