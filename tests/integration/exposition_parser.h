// Reads samples out of a text exposition, for assertions.
#ifndef PGCONN_TESTS_INTEGRATION_EXPOSITION_PARSER_H_
#define PGCONN_TESTS_INTEGRATION_EXPOSITION_PARSER_H_

#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace pgconn::testing {

// Series text as written ("name{a=\"b\"}") to value. Assumes prometheus-cpp's
// output: one sample per line, no timestamps.
inline std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

inline std::optional<double> Sample(const std::string& text,
                                    const std::string& series) {
  auto all = ParseSamples(text);
  auto it = all.find(series);
  if (it == all.end()) return std::nullopt;
  return it->second;
}

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_INTEGRATION_EXPOSITION_PARSER_H_
