#include "pgconn/flag_env.h"

#include <cctype>

#include "config/settings.h"

namespace pgconn {
namespace {

bool OnCommandLine(const std::vector<std::string>& args,
                   std::string_view flag) {
  const std::string bare = "--" + std::string(flag);
  for (const std::string& a : args) {
    if (a == "--") break;
    if (a == bare || a.rfind(bare + "=", 0) == 0) return true;
  }
  return false;
}

// `message` with every occurrence of `value` replaced: a value may be a
// path or an address, but nothing says it is not a secret.
std::string WithoutValue(std::string message, const std::string& value) {
  if (value.empty()) return message;
  for (size_t pos = message.find(value); pos != std::string::npos;
       pos = message.find(value, pos)) {
    message.replace(pos, value.size(), "<value>");
    pos += 7;
  }
  return message;
}

}  // namespace

std::string FlagEnvironmentName(std::string_view flag) {
  std::string out = "PGCONN_";
  for (const char c : flag) {
    out += (c == '.' || c == '-')
               ? '_'
               : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string> EnvironmentFlagNames() {
  std::vector<std::string> out;
  for (const detail::Setting& s : detail::AgentSettings()) {
    if (s.env) out.emplace_back(s.flag);
  }
  return out;
}

Result<std::vector<std::string>> ApplyFlagEnvironment(
    const std::vector<std::string>& args, const EnvLookup& env,
    const std::vector<std::string>& flag_names,
    std::vector<std::string>* notices) {
  std::vector<std::string> from_env;
  std::string used, overridden;
  for (const std::string& flag : flag_names) {
    const std::string var = FlagEnvironmentName(flag);
    const auto value = env(var);
    if (!value.has_value() || value->empty()) continue;
    if (OnCommandLine(args, flag)) {
      overridden += (overridden.empty() ? "" : ",") + var;
      continue;
    }
    std::string arg = "--" + flag + "=" + *value;
    if (auto parsed = ParseFlags({arg}); !parsed.ok()) {
      return Status::InvalidArgument(
          "environment variable " + var + " (as --" + flag +
          "): " + WithoutValue(parsed.status().message(), *value));
    }
    used += (used.empty() ? "" : ",") + var;
    from_env.push_back(std::move(arg));
  }
  if (notices != nullptr && !used.empty()) {
    notices->push_back("flags from the environment: " + used);
  }
  if (notices != nullptr && !overridden.empty()) {
    notices->push_back("the command line overrides these: " + overridden);
  }
  // In front, so that "--" or positional arguments keep their place.
  from_env.insert(from_env.end(), args.begin(), args.end());
  return from_env;
}

}  // namespace pgconn
