// A TargetConfig turned into libpq connection parameters.
#ifndef PGCONN_AGENT_SESSION_CONNECTION_PARAMS_H_
#define PGCONN_AGENT_SESSION_CONNECTION_PARAMS_H_

#include <string>
#include <string_view>
#include <vector>

#include "pgconn/config.h"
#include "pgconn/session.h"
#include "pgconn/status.h"

namespace pgconn {

// Keyword/value arrays for PQconnectStartParams. When `expand_dbname` is
// true the first `dbname` value is a URL that libpq expands; the keywords
// after it override what the URL says.
struct ConnectionParams {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  bool expand_dbname = false;

  // Value of `keyword` (the last one wins, as in libpq), or "" if absent.
  std::string Get(std::string_view keyword) const;
};

// Builds the parameters. The password (inline or from password_file) is
// resolved here, so a rotated password file takes effect at the next connect.
Result<ConnectionParams> BuildConnectionParams(const TargetConfig& target,
                                               const SessionOptions& options);

}  // namespace pgconn

#endif  // PGCONN_AGENT_SESSION_CONNECTION_PARAMS_H_
