// Reading Prometheus-style command-line flags: "--name=value",
// "--name value", and "--name" alone for switches. Shared by the agent and
// its `plan` subcommand.
#ifndef PGCONN_AGENT_UTIL_FLAGS_H_
#define PGCONN_AGENT_UTIL_FLAGS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgconn/status.h"

namespace pgconn {

// Walks the arguments one flag at a time. Not thread-safe.
class FlagReader {
 public:
  // `help` names the help flag in messages ("--help", "plan --help").
  FlagReader(const std::vector<std::string>& args, std::string help);

  // Moves to the next flag: true if there is one, false at the end, an
  // error for an argument that is not a flag. "-h" reads as "--help".
  Result<bool> Next();
  const std::string& name() const { return name_; }

  // The current flag's value: after '=', or else the next argument.
  Result<std::string> Value();
  // For a flag whose value may be left out: the value after '=', or the next
  // argument unless it is itself a flag; nullopt otherwise.
  std::optional<std::string> OptionalValue();

  // The value after '=' of the current flag, if it has one.
  const std::optional<std::string>& InlineValue() const {
    return inline_value_;
  }

  // "unknown flag --name (see --help)".
  Status Unknown() const;

 private:
  const std::vector<std::string>& args_;
  const std::string help_;
  size_t next_ = 0;
  std::string name_;
  std::optional<std::string> inline_value_;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_UTIL_FLAGS_H_
