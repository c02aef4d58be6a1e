// Every flag that takes a value can also be set in the environment as
// PGCONN_<FLAG>: upper case, '.' and '-' as '_' (--web.listen-address is
// PGCONN_WEB_LISTEN_ADDRESS), as containers and systemd units like to pass
// settings. A layer in front of ParseFlags: the variables become flag
// arguments, so every flag, including ones added later, gets the same
// parsing and checks without a branch of its own.
#ifndef PGCONN_FLAG_ENV_H_
#define PGCONN_FLAG_ENV_H_

#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn {

// "PGCONN_WEB_LISTEN_ADDRESS" for "web.listen-address".
std::string FlagEnvironmentName(std::string_view flag);

// The flags that have a variable, as the settings table declares them
// (agent/config/settings.cc): those that take a value. Switches (--once,
// --help, --[no-]collector.NAME) have none on purpose: a variable left in an
// environment must not change what the agent does.
std::vector<std::string> EnvironmentFlagNames();

// `args` with "--NAME=VALUE" put in front for each PGCONN_<FLAG> variable
// that is set and not empty and whose flag is not on the command line (the
// command line wins). Each value is checked by ParseFlags on its own, so an
// error names the variable; it never repeats the value. `notices` gets one
// line naming the variables used and the ones the command line overrode.
Result<std::vector<std::string>> ApplyFlagEnvironment(
    const std::vector<std::string>& args, const EnvLookup& env,
    const std::vector<std::string>& flag_names,
    std::vector<std::string>* notices);

}  // namespace pgconn

#endif  // PGCONN_FLAG_ENV_H_
