// The agent's command line, read through CLI11 (util/cli_args.h) against the
// settings table (settings.cc), and the --help text made from that table.
// (PGCONN_* variables become flags in flag_env.cc.)
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/guide_env.h"
#include "config/settings.h"
#include "pgconn/config.h"
#include "util/cli_args.h"

namespace pgconn {
namespace {

using detail::AgentSettings;
using detail::Setting;
using detail::SettingType;

// --collector.NAME / --no-collector.NAME, as node_exporter spells them: a
// family CLI11 cannot declare, so it arrives among the extras. The names
// are checked against the registry at start-up (ValidateCollectorSwitches).
// False if `arg` is neither.
Result<bool> CollectorFlag(const std::string& arg,
                           CollectorSwitches* collectors) {
  const size_t eq = arg.find('=');
  const std::string name = arg.substr(0, eq);
  for (const bool on : {true, false}) {
    const std::string_view prefix = on ? "--collector." : "--no-collector.";
    if (name.size() <= prefix.size() || name.rfind(prefix, 0) != 0) continue;
    const std::string value =
        eq == std::string::npos ? "true" : arg.substr(eq + 1);
    if (value != "true" && value != "false") {
      return NotASwitchValue(name.substr(2));
    }
    (*collectors)[name.substr(prefix.size())] =
        CollectorSwitch{(value == "true") == on, "flag " + name};
    return true;
  }
  return false;
}

// One value of a declared flag, checked and stored by its row; a message
// names the flag and, unless it is secret, the value.
Status ApplyFlag(const Setting& s, const std::string& value, Flags* f) {
  if (s.type == SettingType::kValue && value.empty()) {
    return Status::InvalidArgument("flag --" + std::string(s.flag) +
                                   " needs a value");
  }
  Status st = s.from_text(value, f);
  if (st.ok()) return st;
  return Status::InvalidArgument("flag --" + std::string(s.flag) +
                                 (s.secret ? "" : "=" + value) + ": " +
                                 st.message());
}

std::vector<CliFlag> CommandLineFlags() {
  std::vector<CliFlag> out;
  for (const Setting& s : AgentSettings()) {
    if (s.type == SettingType::kSwitch) {
      out.push_back({s.flag, CliArity::kSwitch});
    } else if (s.type == SettingType::kValue) {
      out.push_back({s.flag, CliArity::kValue});
    } else if (s.type == SettingType::kOptionalValue) {
      out.push_back({s.flag, CliArity::kOptional});
    }
  }
  return out;
}

}  // namespace

Result<Flags> ParseFlags(const std::vector<std::string>& args) {
  auto split = SplitCommandLine(args, CommandLineFlags());
  if (!split.ok()) return split.status();
  Flags f;
  std::vector<std::string> unknown;
  for (const std::string& arg : split->extras) {
    auto collector = CollectorFlag(arg, &f.collectors);
    if (!collector.ok()) return collector.status();
    if (!*collector) unknown.push_back(arg);
  }
  if (auto s = RefuseExtras(unknown, "--help"); !s.ok()) return s;
  for (const Setting& s : AgentSettings()) {
    const auto given = split->given.find(s.flag);
    if (given == split->given.end()) continue;
    for (const std::string& value : given->second) {
      if (auto st = ApplyFlag(s, value, &f); !st.ok()) return st;
    }
  }
  return f;
}

std::string FlagsHelp(std::string_view program) {
  std::string connection_variables;
  for (std::string_view v : kGuideConnectionVariables) {
    if (!connection_variables.empty()) connection_variables += ", ";
    connection_variables += v;
  }
  std::ostringstream o;
  o << "usage: " << program << " [flags]\n"
    << "       " << program << " plan [flags]   (capacity planner; " << program
    << " plan --help)\n\n"
    << "PostgreSQL connection monitoring agent and Prometheus exporter.\n\n"
    << "Flags:\n";
  for (const Setting& s : AgentSettings()) {
    if (s.type != SettingType::kFileOnly) {
      WriteHelpEntry(o, detail::FlagSynopsis(s), s.help, s.default_text);
    }
  }
  o << "\nWithout a configured target the environment defines one: "
    << kGuideDatabaseUrl << ",\n"
    << "or " << connection_variables << "; libpq's PG* variables\n"
    << "and ~/.pgpass work as usual. Exit codes: 0 ok, 1 runtime failure, "
       "2 bad\n"
    << "configuration.\n"
    << "Every flag that takes a value can be set as PGCONN_<FLAG> (e.g.\n"
    << "PGCONN_WEB_LISTEN_ADDRESS); the command line wins. "
       "postgres_exporter's\n"
    << "DATA_SOURCE_NAME, DATA_SOURCE_URI/_USER/_PASS[_FILE] and "
       "DB_PASSWORD_FILE\n"
    << "are read too (docs/migrating-from-postgres_exporter.md).\n";
  return o.str();
}

}  // namespace pgconn
