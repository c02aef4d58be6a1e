// Reading the YAML configuration file: positions in every message, a walk
// that refuses repeated keys and oversized values before anything is read,
// and typed accessors whose errors never repeat a value that may be secret.
#ifndef PGCONN_AGENT_CONFIG_YAML_READER_H_
#define PGCONN_AGENT_CONFIG_YAML_READER_H_

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "pgconn/config.h"
#include "pgconn/status.h"

namespace pgconn::detail {

// "file.yaml:3:7", or the file's name alone when the mark is unknown.
std::string Where(std::string_view filename, const YAML::Mark& mark);
std::string Where(std::string_view filename, const YAML::Node& node);

// Walks the whole document before it is read: refuses a key repeated in
// one mapping (yaml-cpp keeps both and reads the first), nesting deeper than
// 16 levels, and any value longer than kMaxScalarBytes, naming positions and
// never the value.
Status CheckTree(std::string_view filename, const YAML::Node& node, int depth);

// Reads YAML mappings with positions in every message. Stateless apart from
// the file's name: safe to share between threads.
class YamlReader {
 public:
  explicit YamlReader(std::string_view filename) : filename_(filename) {}

  Status RequireMap(const YAML::Node& node, std::string_view what) const;

  // Refuses keys outside `known`.
  Status CheckKeys(const YAML::Node& map, std::string_view what,
                   std::initializer_list<std::string_view> known) const {
    return CheckKeys(map, what, std::span(known.begin(), known.end()));
  }
  Status CheckKeys(const YAML::Node& map, std::string_view what,
                   std::span<const std::string_view> known) const;

  Result<std::string> String(const YAML::Node& node,
                             std::string_view key) const;
  Result<int> Int(const YAML::Node& node, std::string_view key, int min,
                  int max) const;
  // A headroom ratio, in (0, 1].
  Result<double> Ratio(const YAML::Node& node, std::string_view key) const;
  // A positive duration of at most `max`.
  Result<Duration> Dur(const YAML::Node& node, std::string_view key,
                       Duration max) const;

  std::string where(const YAML::Node& node) const {
    return Where(filename_, node);
  }

 private:
  std::string filename_;
};

// `collectors:`, at the top level or in a target: a mapping of collector
// names to true or false, into `out`.
Status ParseCollectorSwitches(const YamlReader& r, const YAML::Node& node,
                              CollectorSwitches* out);

}  // namespace pgconn::detail

#endif  // PGCONN_AGENT_CONFIG_YAML_READER_H_
