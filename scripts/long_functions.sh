#!/usr/bin/env bash
# Lists the functions of agent/ longer than a limit (default 60 lines),
# longest first, from universal-ctags' start and end lines (a function
# defined in a class counts too; a lambda counts as part of its function).
# A function may stay long where length is the clearer form: it says why in
# a comment starting "// Long:" on its first line or the line above it;
# those are listed apart. Exits 1 if a long function gives no reason.
#
#   scripts/long_functions.sh [LIMIT] [DIR...]     (apt-get install universal-ctags)
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-60}
shift || true
dirs=("${@:-agent}")
command -v ctags >/dev/null || { echo "universal-ctags missing: apt-get install universal-ctags" >&2; exit 2; }

ctags -x --_xformat='%{end} %n %F %N' --kinds-C++=f --fields=+ne -R \
    --languages=C++ "${dirs[@]}" |
  awk -v limit="$limit" '
    function reason(file, line,   i, text, n) {
      # The line above the signature, or the first lines of the body.
      n = 0
      while ((getline text < file) > 0) {
        ++n
        if (n >= line - 1 && n <= line + 8 && text ~ /^[ \t]*\/\/ Long:/) {
          close(file)
          return 1
        }
        if (n > line + 8) break
      }
      close(file)
      return 0
    }
    $1 != "" && $1 - $2 + 1 > limit {
      printf "%d %s:%d %s %d\n", $1 - $2 + 1, $3, $2, $4, reason($3, $2)
    }' |
  sort -k1,1nr -k2,2 |
  awk '
    $4 == 0 { printf "%5d  %s  %s\n", $1, $2, $3; ++bare }
    $4 == 1 { reasoned[++n] = sprintf("%5d  %s  %s  (says why)", $1, $2, $3) }
    END {
      for (i = 1; i <= n; ++i) print reasoned[i]
      printf "%d long function(s) without a reason, %d with one\n", bare, n
      exit bare > 0
    }'
