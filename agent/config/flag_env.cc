#include "pgconn/flag_env.h"

#include <cctype>

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

std::vector<std::string> ValueFlagNames(std::string_view help) {
  std::vector<std::string> out;
  size_t line_start = 0;
  while (line_start < help.size()) {
    size_t end = help.find('\n', line_start);
    if (end == std::string_view::npos) end = help.size();
    std::string_view line = help.substr(line_start, end - line_start);
    line_start = end + 1;
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    if (line.substr(i, 2) != "--") continue;
    line.remove_prefix(i + 2);
    const size_t eq = line.find('=');
    const size_t space = line.find(' ');
    if (eq == std::string_view::npos ||
        (space != std::string_view::npos && space < eq)) {
      continue;  // a switch
    }
    const std::string_view name = line.substr(0, eq);
    if (name.empty() || name.find('[') != std::string_view::npos) continue;
    out.emplace_back(name);
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
