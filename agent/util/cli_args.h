// The command line's words split into flags by CLI11: "--name=value",
// "--name value", "--name" alone for a switch, "-h" for "--help". Shared by
// the agent and its `plan` subcommand, whose setting tables say which flags
// exist; what a value means is theirs to check.
#ifndef PGCONN_AGENT_UTIL_CLI_ARGS_H_
#define PGCONN_AGENT_UTIL_CLI_ARGS_H_

#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/status.h"

namespace pgconn {

enum class CliArity {
  kSwitch,    // --name, or --name=true / --name=false
  kValue,     // --name=VALUE or --name VALUE
  kOptional,  // --name, --name=VALUE, or --name VALUE unless VALUE is a flag
};

struct CliFlag {
  std::string_view name;  // without "--"
  CliArity arity = CliArity::kValue;
};

struct CliArgs {
  // Every flag given, by name, with each of its values in order: "true" for
  // a bare switch, "" for a value flag given none.
  std::map<std::string, std::vector<std::string>, std::less<>> given;
  // Arguments that are no declared flag, in order ("--bogus=1", "stray").
  std::vector<std::string> extras;
};

// Never fails on an unknown flag (it goes to `extras`). Fails for a switch
// given a value other than true or false (NotASwitchValue), and for what
// CLI11 itself refuses.
Result<CliArgs> SplitCommandLine(const std::vector<std::string>& args,
                                 const std::vector<CliFlag>& flags);

// "flag --NAME: takes no value, or =true or =false".
Status NotASwitchValue(std::string_view name);

// "unknown flag --NAME (see HELP)" or "unexpected argument "X" (see HELP)"
// for the first of `extras`; Ok when there is none.
Status RefuseExtras(const std::vector<std::string>& extras,
                    std::string_view help);

// One flag of a --help text: "  --poll.interval=DURATION    how often ...
// (default 5s)", the help's further lines ('\n') under its first, the
// default on a line of its own when it does not fit in 79 columns.
void WriteHelpEntry(std::ostream& o, std::string_view synopsis,
                    std::string_view help, std::string_view default_text);

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_CLI_ARGS_H_
