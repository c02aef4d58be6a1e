// docs/configuration.md against the settings table (agent/config/
// settings.cc): its Flags table lists every flag, its variable and its
// default, in the table's order, and nothing else; the YAML example shows
// every key of the file's top level. A flag added without its doc row, or a
// doc row left after its flag, fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/settings.h"

namespace pgconn::detail {
namespace {

std::string ReadDoc() {
  std::ifstream in(PGCONN_TEST_DATA_DIR "/../docs/configuration.md");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// "flag | variable | default" of each row of the table under `heading`.
std::vector<std::string> TableRows(const std::string& doc,
                                   const std::string& heading) {
  std::vector<std::string> rows;
  const size_t at = doc.find(heading);
  if (at == std::string::npos) return rows;
  std::istringstream in(doc.substr(at + heading.size()));
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;
      continue;
    }
    in_table = true;
    if (line.rfind("| flag", 0) == 0 || line.rfind("|---", 0) == 0) continue;
    std::vector<std::string> cells;
    std::istringstream cs(line.substr(1));
    for (std::string c; cells.size() < 3 && std::getline(cs, c, '|');) {
      const size_t b = c.find_first_not_of(' ');
      const size_t e = c.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
    }
    cells.resize(3);
    rows.push_back(cells[0] + " | " + cells[1] + " | " + cells[2]);
  }
  return rows;
}

std::string Code(std::string_view text) {
  return text.empty() ? "" : "`" + std::string(text) + "`";
}

TEST(SettingsDocTest, TheFlagsTableIsTheSettingsTable) {
  std::vector<std::string> want;
  std::string expected;
  for (const Setting& s : AgentSettings()) {
    if (s.type == SettingType::kFileOnly) continue;
    want.push_back(Code(FlagSynopsis(s)) + " | " + Code(EnvironmentName(s)) +
                   " | " + Code(s.default_text));
    expected += "| " + want.back() + " | ... |\n";
  }
  const auto got = TableRows(ReadDoc(), "\n## Flags\n");
  EXPECT_EQ(got, want) << "docs/configuration.md's Flags table should have "
                          "these rows, in this order:\n"
                       << expected;
}

TEST(SettingsDocTest, TheYamlExampleShowsEveryTopLevelKey) {
  const std::string doc = ReadDoc();
  for (const Setting& s : AgentSettings()) {
    if (s.yaml_key.empty()) continue;
    EXPECT_NE(doc.find("\n" + std::string(s.yaml_key) + ":"), std::string::npos)
        << s.yaml_key;
  }
}

}  // namespace
}  // namespace pgconn::detail
