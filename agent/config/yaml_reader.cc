#include "config/yaml_reader.h"

#include <map>

#include "config/value_checks.h"
#include "util/numbers.h"

namespace pgconn::detail {

std::string Where(std::string_view filename, const YAML::Mark& mark) {
  std::string out(filename);
  if (mark.is_null()) return out;
  // Appended piece by piece: see Quoted() for GCC 12's -Wrestrict.
  out += ':';
  out += std::to_string(mark.line + 1);
  out += ':';
  out += std::to_string(mark.column + 1);
  return out;
}

std::string Where(std::string_view filename, const YAML::Node& node) {
  return Where(filename, node.Mark());
}

Status CheckTree(std::string_view filename, const YAML::Node& node, int depth) {
  if (depth > 16) {
    return Status::InvalidArgument(Where(filename, node) +
                                   ": nested more than 16 levels deep");
  }
  if (node.IsScalar() && node.Scalar().size() > kMaxScalarBytes) {
    return Status::InvalidArgument(Where(filename, node) + ": a value of " +
                                   std::to_string(node.Scalar().size()) +
                                   " bytes; the limit is " +
                                   std::to_string(kMaxScalarBytes));
  }
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (auto s = CheckTree(filename, item, depth + 1); !s.ok()) return s;
    }
  }
  if (!node.IsMap()) return Status::Ok();
  std::map<std::string, YAML::Mark> seen;
  for (const auto& kv : node) {
    if (auto s = CheckTree(filename, kv.first, depth + 1); !s.ok()) return s;
    if (auto s = CheckTree(filename, kv.second, depth + 1); !s.ok()) return s;
    if (!kv.first.IsScalar()) continue;  // refused later, with its place
    const auto [it, inserted] =
        seen.emplace(kv.first.Scalar(), kv.first.Mark());
    if (!inserted) {
      return Status::InvalidArgument(
          Where(filename, kv.first) + ": key " +
          QuotedIfPlain(kv.first.Scalar(), "(not shown)") +
          " is repeated; first at " + Where(filename, it->second));
    }
  }
  return Status::Ok();
}

Status YamlReader::RequireMap(const YAML::Node& node,
                              std::string_view what) const {
  if (node.IsMap()) return Status::Ok();
  return Status::InvalidArgument(Where(filename_, node) + ": " +
                                 std::string(what) + " must be a mapping");
}

Status YamlReader::CheckKeys(const YAML::Node& map, std::string_view what,
                             std::span<const std::string_view> known) const {
  for (const auto& kv : map) {
    std::string key;
    try {
      key = kv.first.as<std::string>();
    } catch (const YAML::Exception&) {
      return Status::InvalidArgument(Where(filename_, kv.first) + ": keys in " +
                                     std::string(what) + " must be strings");
    }
    bool ok = false;
    for (auto k : known) ok = ok || k == key;
    if (!ok) {
      std::string list;
      for (auto k : known) {
        if (!list.empty()) list += ", ";
        list += k;
      }
      return Status::InvalidArgument(
          Where(filename_, kv.first) + ": unknown key " +
          QuotedIfPlain(key, "(not shown: long or not a name)") + " in " +
          std::string(what) + " (known keys: " + list + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> YamlReader::String(const YAML::Node& node,
                                       std::string_view key) const {
  if (!node.IsScalar()) {
    return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                   std::string(key) + "\" must be a string");
  }
  return node.Scalar();
}

Result<int> YamlReader::Int(const YAML::Node& node, std::string_view key,
                            int min, int max) const {
  if (!node.IsScalar()) {
    return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                   std::string(key) +
                                   "\" must be a whole number");
  }
  const std::string text = Trim(node.Scalar());
  auto v = ParseInt64InRange(text, min, max);
  if (!v.ok()) {
    // A quote that swallowed the next lines must not repeat them.
    const std::string why =
        IsPlain(text) ? v.status().message()
                      : "the value is not a whole number from " +
                            std::to_string(min) + " to " + std::to_string(max);
    return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                   std::string(key) + "\": " + why);
  }
  return static_cast<int>(*v);
}

Result<double> YamlReader::Ratio(const YAML::Node& node,
                                 std::string_view key) const {
  const std::string text = node.IsScalar() ? Trim(node.Scalar()) : "";
  auto v = ParseDouble(text);
  if (!node.IsScalar() || !v.ok()) {
    return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                   std::string(key) + "\" must be a number");
  }
  if (!IsHeadroomRatio(*v)) {
    return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                   std::string(key) + "\": " + Excerpt(text) +
                                   " is outside (0, 1]");
  }
  return v;
}

Result<Duration> YamlReader::Dur(const YAML::Node& node, std::string_view key,
                                 Duration max) const {
  if (!node.IsScalar()) {
    return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                   std::string(key) +
                                   "\" must be a duration such as 5s");
  }
  auto d = ParseDuration(node.Scalar());
  if (!d.ok()) {
    const std::string why =
        IsPlain(Trim(node.Scalar()))
            ? d.status().message()
            : "the value is not a duration (examples: 500ms, 5s, 1m30s, 2h)";
    return Status::InvalidArgument(Where(filename_, node) + ": \"" +
                                   std::string(key) + "\": " + why);
  }
  if (d->count() <= 0) {
    return Status::InvalidArgument(
        Where(filename_, node) + ": \"" + std::string(key) +
        "\": " + Excerpt(node.Scalar()) + " must be positive");
  }
  if (*d > max) {
    return Status::InvalidArgument(
        Where(filename_, node) + ": \"" + std::string(key) +
        "\" is longer than its maximum, " + FormatLimit(max));
  }
  return d;
}

// `collectors:`: a mapping of collector names to true or false.
Status ParseCollectorSwitches(const YamlReader& r, const YAML::Node& node,
                              CollectorSwitches* out) {
  if (!node.IsMap()) {
    return Status::InvalidArgument(
        r.where(node) +
        ": \"collectors\" must be a mapping of collector "
        "names to true or false");
  }
  for (const auto& kv : node) {
    auto name = r.String(kv.first, "collectors");
    if (!name.ok()) return name.status();
    const YAML::Node& v = kv.second;
    bool on = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, on)) {
      return Status::InvalidArgument(
          r.where(v) + ": a collector is switched with true or false");
    }
    (*out)[*name] = CollectorSwitch{on, r.where(kv.first)};
  }
  return Status::Ok();
}

}  // namespace pgconn::detail
