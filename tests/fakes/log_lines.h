// Counting log lines in tests.
#ifndef PGCONN_TESTS_FAKES_LOG_LINES_H_
#define PGCONN_TESTS_FAKES_LOG_LINES_H_

#include <sstream>
#include <string>

namespace pgconn {

// Lines of `s` that contain `needle`.
inline int CountLines(const std::string& s, const std::string& needle) {
  int n = 0;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace pgconn

#endif  // PGCONN_TESTS_FAKES_LOG_LINES_H_
