#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds with warnings as
# errors, and runs every test through CTest. The tests start the servers they
# need (PostgreSQL, PgBouncer, Prometheus) on free loopback ports. Then the
# C++ tests run once more on a second build, with clang: AddressSanitizer and
# UndefinedBehaviorSanitizer (memory errors, leaks, undefined behaviour), and
# -Wthread-safety as an error (the PGCONN_GUARDED_BY annotations, which GCC
# ignores); and a third time with ThreadSanitizer.
#
#   scripts/test.sh              everything
#   scripts/test.sh -R Config    only tests whose name matches (ctest -R)
#   PGCONN_SANITIZE=0 scripts/test.sh   skip the ASan/UBSan pass
#   PGCONN_TSAN=0 scripts/test.sh       skip the ThreadSanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${PGCONN_BUILD_DIR:-build}
# Compiler cache: the three builds below share it, and so do runs on the
# same machine (ccache's directory is outside the checkout). Paths are made
# relative to the checkout, so another clone of the repository hits it too.
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
fi
# What ships: the container image, built from the Dockerfile with podman
# (tests/image/image.py; base image, layers and compiler cache kept in
# ~/.cache/pgconn/image, so a rerun rebuilds only what changed). Its build
# stage is the Release pass: GCC, Release, warnings as errors, so that an
# optimizer-only warning fails here. packaging_image runs the image; the
# other packaging tests read its binary (PGCONN_RELEASE_AGENT).
image_out="$PWD/$build-image"
python3 tests/image/image.py build --out "$image_out"
export PGCONN_RELEASE_AGENT="$image_out/pgconn-agent"
export PGCONN_IMAGE_INFO="$image_out/image.json"
cmake -S . -B "$build" -DPGCONN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
# Two cores: run two test processes at a time; integration tests that need
# exclusive use of a server start their own. The integration tests run
# against Debian's PostgreSQL 15, and their version-sensitive subset again
# against 14, 16, 17 and 18 (tests/postgres-versions, labels pgNN): one
# line per major at the end.
rc=0
ctest --test-dir "$build" --output-on-failure -j2 \
  --output-junit "$PWD/$build/ctest-results.xml" "$@" || rc=$?
ctest --test-dir "$build" --show-only=json-v1 >"$build/ctest-tests.json"
python3 tests/postgres-versions/summary.py "$build/ctest-tests.json" \
  "$build/ctest-results.xml" tests/postgres-versions/package.json
[[ $rc -eq 0 ]] || exit "$rc"

# The checks that run no C++ of ours (rule files and their replays,
# Alertmanager's routing, dashboards, manifests, the packaging of what
# ships): the first pass ran them, and the sanitizer passes leave them out.
not_cxx='alert_rules|alert_replay.*|alertmanager_e2e|dashboards|dashboard_schema|dashboard_schema_negative|metric_contract|golden_exposition_promtool|packaging_.*|prometheus_.*_example|deploy_.*'

if [[ "${PGCONN_SANITIZE:-1}" != 0 ]]; then
  asan="$build-asan"
  # A build dir configured with another compiler (GCC, before) starts afresh.
  if [[ -f "$asan/CMakeCache.txt" ]] &&
    ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$asan/CMakeCache.txt"; then
    rm -rf "$asan"
  fi
  # clang: pgconn_warnings (CMakeLists.txt) adds -Wthread-safety, and
  # PGCONN_WERROR makes its findings errors.
  cmake -S . -B "$asan" -DCMAKE_CXX_COMPILER=clang++ \
    -DPGCONN_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  # Fail rather than pass unchecked if the flag ever goes missing.
  if ! grep -q -- '-Wthread-safety' "$asan/compile_commands.json"; then
    echo "test.sh: -Wthread-safety is not in $asan/compile_commands.json" >&2
    exit 1
  fi
  cmake --build "$asan" -j"$(nproc)"
  # The end-to-end tests in Python (prometheus_e2e, discovery_e2e, the
  # plan's) run the sanitized agent under real load here.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    ctest --test-dir "$asan" --output-on-failure -j2 \
      -LE '^pg1[4-8]$' -E "^($not_cxx)$" "$@"
fi

# ThreadSanitizer: the C++ unit and integration tests once more, built with
# clang -fsanitize=thread (data races, lock order inversions). The Python
# end-to-end tests ran the ASan agent already; the version
# matrix is left out (what it checks is the servers' behaviour, the same
# code paths as on 15); PGCONN_TSAN=0 skips the pass. tests/tsan.supp
# lists the suppressions, each with its reason.
if [[ "${PGCONN_TSAN:-1}" != 0 ]]; then
  tsan="$build-tsan"
  if [[ -f "$tsan/CMakeCache.txt" ]] &&
    ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$tsan/CMakeCache.txt"; then
    rm -rf "$tsan"
  fi
  cmake -S . -B "$tsan" -DCMAKE_CXX_COMPILER=clang++ \
    -DPGCONN_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
  cmake --build "$tsan" -j"$(nproc)"
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir "$tsan" --output-on-failure -j2 \
      -LE '^pg1[4-8]$' \
      -E "^($not_cxx|prometheus_e2e|discovery_e2e|plan_from_prometheus_.*)$" "$@"
fi
