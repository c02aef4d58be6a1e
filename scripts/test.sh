#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds with warnings as
# errors, and runs every test through CTest. The tests start the servers they
# need (PostgreSQL, PgBouncer, Prometheus) on free loopback ports. Then the
# C++ tests run once more on a build with AddressSanitizer and
# UndefinedBehaviorSanitizer (memory errors, leaks, undefined behaviour).
#
#   scripts/test.sh              everything
#   scripts/test.sh -R Config    only tests whose name matches (ctest -R)
#   PGCONN_SANITIZE=0 scripts/test.sh   skip the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${PGCONN_BUILD_DIR:-build}
cmake -S . -B "$build" -DPGCONN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
# Two cores: run two test processes at a time; integration tests that need
# exclusive use of a server start their own.
ctest --test-dir "$build" --output-on-failure -j2 "$@"

if [[ "${PGCONN_SANITIZE:-1}" != 0 ]]; then
  asan="$build-asan"
  cmake -S . -B "$asan" -DPGCONN_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  cmake --build "$asan" -j"$(nproc)"
  # The checks that run no C++ (rule files, dashboards) ran above already.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    ctest --test-dir "$asan" --output-on-failure -j2 \
      -E '^(alert_rules|dashboards|metric_contract|golden_exposition_promtool)$' "$@"
fi
