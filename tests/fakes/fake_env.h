// An environment for EnvLookup from a map, and a file that is deleted at the
// end of the test (secrets and configuration files).
#ifndef PGCONN_TESTS_FAKES_FAKE_ENV_H_
#define PGCONN_TESTS_FAKES_FAKE_ENV_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "pgconn/config.h"

namespace pgconn {

inline EnvLookup FakeEnvironment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class ScratchFile {
 public:
  explicit ScratchFile(const std::string& content) {
    char tmpl[] = "/tmp/pgconn_test_XXXXXX";
    const int fd = mkstemp(tmpl);
    path_ = tmpl;
    std::ofstream(path_) << content;
    close(fd);
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pgconn

#endif  // PGCONN_TESTS_FAKES_FAKE_ENV_H_
