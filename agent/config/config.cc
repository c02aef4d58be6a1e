// Loading the configuration: the file --config.file names, else the target
// the environment describes (environment.cc), then the flags over both.
#include "pgconn/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace pgconn {
namespace {

bool IsEmptyYaml(const std::string& text) {
  try {
    return YAML::Load(text).IsNull();
  } catch (const YAML::Exception&) {
    return false;
  }
}

// The text of --config.file, refused when it is not a regular file or is
// larger than kMaxConfigFileBytes. `where` names the flag.
Result<std::string> ReadConfigFile(const std::string& path,
                                   const std::string& where) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::InvalidArgument(where +
                                   ": cannot read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(where + ": not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileBytes) {
    return Status::InvalidArgument(where + ": " + std::to_string(st.st_size) +
                                   " bytes; the limit is " +
                                   std::to_string(kMaxConfigFileBytes));
  }
  std::ifstream in(path);
  if (!in) {
    return Status::InvalidArgument(where +
                                   ": cannot read: " + std::strerror(errno));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (buf.str().size() > kMaxConfigFileBytes) {
    return Status::InvalidArgument(where + ": longer than the limit of " +
                                   std::to_string(kMaxConfigFileBytes) +
                                   " bytes");
  }
  return buf.str();
}

Result<Config> LoadConfigFile(const std::string& path) {
  const std::string where = "flag --config.file=" + path;
  auto text = ReadConfigFile(path, where);
  if (!text.ok()) return text.status();
  auto parsed = ParseConfigYaml(*text, path);
  if (!parsed.ok()) return parsed.status();
  // A file that says nothing is a mistake (a wrong path, a failed
  // deployment), not a request for the environment's target.
  if (parsed->targets.empty() && IsEmptyYaml(*text)) {
    return Status::InvalidArgument(where + ": the file is empty");
  }
  return parsed;
}

}  // namespace

Result<Secret> ReadPasswordFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::IoError("password_file " + path + ": is a directory");
  }
  std::ifstream in(path);
  if (!in) {
    return Status::IoError("password_file " + path +
                           ": cannot read: " + std::strerror(errno));
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return Secret(line);
}

Result<Config> LoadConfig(const Flags& flags, const EnvLookup& env) {
  Config cfg;
  if (flags.config_file) {
    auto loaded = LoadConfigFile(*flags.config_file);
    if (!loaded.ok()) return loaded.status();
    cfg = std::move(*loaded);
  }
  if (cfg.targets.empty()) {
    auto t = TargetFromEnvironment(env, &cfg.notices);
    if (!t.ok()) return t.status();
    cfg.targets.push_back(std::move(*t));
  }
  if (flags.listen_address) cfg.listen_address = *flags.listen_address;
  if (flags.poll_interval) cfg.poll_interval = *flags.poll_interval;
  if (flags.log_level) cfg.log_level = *flags.log_level;
  if (flags.log_format) cfg.log_format = *flags.log_format;
  for (const auto& [name, sw] : flags.collectors) cfg.collectors[name] = sw;

  // Checks that need the merged view.
  for (const auto& t : cfg.targets) {
    if (!t.password_file.empty()) {
      auto pw = ReadPasswordFile(t.password_file);
      if (!pw.ok()) {
        return Status::InvalidArgument(t.origin + ": target \"" + t.name +
                                       "\": " + pw.status().message());
      }
    }
  }
  return cfg;
}

}  // namespace pgconn
