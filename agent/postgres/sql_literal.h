// Quoting values into SQL text. The collectors' statements carry no
// parameters (the PgBouncer admin console takes none, and the batch is one
// simple-protocol query), so the few configured values they embed are quoted
// here.
#ifndef PGCONN_AGENT_POSTGRES_SQL_LITERAL_H_
#define PGCONN_AGENT_POSTGRES_SQL_LITERAL_H_

#include <string>
#include <string_view>

namespace pgconn::detail {

// A string constant that means `value` whatever standard_conforming_strings
// says: the E'' form, with quotes and backslashes doubled. NUL bytes cannot
// occur in a PostgreSQL string and are dropped.
inline std::string SqlLiteral(std::string_view value) {
  std::string out = "E'";
  for (char c : value) {
    if (c == '\0') continue;
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_POSTGRES_SQL_LITERAL_H_
