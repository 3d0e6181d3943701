#!/usr/bin/env bash
# Runs the test layers and prints one closing line per layer and a total:
#   scripts/test.sh all|unit|asan|fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BUILD_ASAN=${BUILD_ASAN:-build-asan}
BUILD_FUZZ=${BUILD_FUZZ:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

total_pass=0
total_fail=0

# Counts the results meson wrote for the last run in $1.
tally() {
  python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["result"] in ("OK", "EXPECTEDFAIL"):
        ok += 1
    else:
        bad += 1
print(ok, bad)
PY
}

run_meson_tests() {  # dir label [meson test args...]
  local dir=$1 label=$2; shift 2
  local rc=0
  meson test -C "$dir" --print-errorlogs "$@" || rc=$?
  read -r p f < <(tally "$dir")
  echo "$label: $p passed, $f failed"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || total_fail=$((total_fail + 1))
}

setup() {  # dir [meson setup args...]
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
  ninja -C "$dir"
}

do_normal() {
  setup "$BUILD"
  run_meson_tests "$BUILD" "tests"
}

do_unit() {
  setup "$BUILD"
  run_meson_tests "$BUILD" "unit tests" --suite unit
}

do_asan() {
  setup "$BUILD_ASAN" -Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false \
        -Dc_args=-fno-sanitize-recover=all
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_meson_tests "$BUILD_ASAN" "unit tests (ASan+UBSan)" --suite unit
}

# The fuzz build: clang, libFuzzer, ASan+UBSan.  sg_ct_expire is compiled
# without coverage instrumentation (tests/fuzz/coverage-ignore.txt says
# why); a tree set up before that gets the flag through meson configure.
fuzz_build() {
  local args=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false
              "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all -fsanitize-coverage-ignorelist=$PWD/tests/fuzz/coverage-ignore.txt")
  if [ -f "$BUILD_FUZZ/build.ninja" ]; then
    meson configure "$BUILD_FUZZ" "${args[@]}" >/dev/null
  else
    CC=clang meson setup "$BUILD_FUZZ" "${args[@]}" >/dev/null
  fi
  # Only the harnesses: the rest of the tree is built and tested above.
  ninja -C "$BUILD_FUZZ" build.ninja >/dev/null
  ninja -C "$BUILD_FUZZ" $(ninja -C "$BUILD_FUZZ" -t targets all |
                           sed -n 's|^\(tests/fuzz/fuzz_[a-z0-9_]*\): .*|\1|p')
}

do_fuzz() {
  fuzz_build
  local ok=0 bad=0
  for h in "$BUILD_FUZZ"/tests/fuzz/fuzz_*; do
    [ -f "$h" ] && [ -x "$h" ] || continue
    local name corpus log
    name=$(basename "$h")
    corpus="tests/fuzz/corpus-run/$name"
    mkdir -p "$corpus"
    log="$BUILD_FUZZ/$name.log"
    if "$h" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
         -artifact_prefix="$BUILD_FUZZ/" "$corpus" "tests/fuzz/seeds/$name" \
         >"$log" 2>&1; then
      ok=$((ok + 1))
      execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
      echo "fuzz $name: clean, $execs executions in ${FUZZ_SECONDS} s ($((execs / FUZZ_SECONDS)) exec/s)"
    else
      bad=$((bad + 1))
      echo "fuzz $name: FAILED, see $log"; tail -40 "$log"
    fi
  done
  echo "fuzz: $ok passed, $bad failed"
  total_pass=$((total_pass + ok)); total_fail=$((total_fail + bad))
}

case "${1:-all}" in
  all)  do_normal; do_asan; do_fuzz ;;
  unit) do_unit ;;
  asan) do_asan ;;
  fuzz) do_fuzz ;;
  *) echo "usage: $0 all|unit|asan|fuzz" >&2; exit 2 ;;
esac

echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
