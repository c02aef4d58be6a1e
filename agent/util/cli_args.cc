#include "util/cli_args.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>

namespace pgconn {
namespace {

// CLI11 reads "--switch=" as "--switch" (Option::get_flag_value gives an
// empty value the flag's default), so that one form is refused here.
Status RefuseEmptySwitchValues(const std::vector<std::string>& args,
                               const std::vector<CliFlag>& flags) {
  for (const std::string& a : args) {
    if (a == "--") break;
    for (const CliFlag& f : flags) {
      if (f.arity == CliArity::kSwitch &&
          a == "--" + std::string(f.name) + "=") {
        return NotASwitchValue(f.name);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status NotASwitchValue(std::string_view name) {
  return Status::InvalidArgument("flag --" + std::string(name) +
                                 ": takes no value, or =true or =false");
}

Result<CliArgs> SplitCommandLine(const std::vector<std::string>& args,
                                 const std::vector<CliFlag>& flags) {
  CLI::App app;
  app.set_help_flag();  // --help is a flag of the tables like any other
  app.allow_extras();
  std::vector<std::pair<CliFlag, CLI::Option*>> options;
  for (const CliFlag& f : flags) {
    std::string names = "--" + std::string(f.name);
    if (f.name == "help") names = "-h," + names;
    // A value flag without its value gives "", for the caller to name it
    // ("flag --x needs a value") rather than CLI11's own words.
    CLI::Option* o = f.arity == CliArity::kSwitch
                         ? app.add_flag(names)
                         : app.add_option(names)->expected(0, 1);
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    options.emplace_back(f, o);
  }
  if (auto s = RefuseEmptySwitchValues(args, flags); !s.ok()) return s;
  // CLI11 reads a vector from its end.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return Status::InvalidArgument(e.what());
  }
  CliArgs out;
  for (const auto& [f, o] : options) {
    if (o->count() == 0) continue;
    for (const std::string& v : o->results()) {
      if (f.arity == CliArity::kSwitch && v != "true" && v != "false") {
        return NotASwitchValue(f.name);
      }
    }
    out.given[std::string(f.name)] = o->results();
  }
  out.extras = app.remaining();
  return out;
}

Status RefuseExtras(const std::vector<std::string>& extras,
                    std::string_view help) {
  if (extras.empty()) return Status::Ok();
  const std::string& a = extras.front();
  if (a.size() > 2 && a.rfind("--", 0) == 0) {
    return Status::InvalidArgument("unknown flag " + a.substr(0, a.find('=')) +
                                   " (see " + std::string(help) + ")");
  }
  return Status::InvalidArgument("unexpected argument \"" + a + "\" (see " +
                                 std::string(help) + ")");
}

void WriteHelpEntry(std::ostream& o, std::string_view synopsis,
                    std::string_view help, std::string_view default_text) {
  constexpr size_t kColumn = 30, kWidth = 79;
  std::string left = "  " + std::string(synopsis);
  left.resize(std::max(left.size() + 2, kColumn), ' ');
  std::vector<std::string> lines;
  std::istringstream in{std::string(help)};
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (lines.empty()) lines.emplace_back();
  if (!default_text.empty()) {
    const std::string d = "(default " + std::string(default_text) + ")";
    if (left.size() + lines.back().size() + 1 + d.size() <= kWidth) {
      lines.back() += (lines.back().empty() ? "" : " ") + d;
    } else {
      lines.push_back(d);
    }
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    o << (i == 0 ? left : std::string(left.size(), ' ')) << lines[i] << "\n";
  }
}

}  // namespace pgconn
