#!/usr/bin/env bash
# Runs the test layers and prints one closing line per layer and a total:
#   scripts/test.sh all|unit|asan|fuzz|fuzz-long
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

# The closing figures of a libFuzzer log: executions, exec/s, coverage,
# features, corpus.
fuzz_figures() {  # log seconds
  local execs done_line
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1")
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$1" | tail -1)
  echo "$execs executions in $2 s ($((execs / ($2 > 0 ? $2 : 1))) exec/s)," \
       "$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*')"
}

# Runs each harness for $FUZZ_SECONDS s (FUZZ_HARNESS=name: only that one)
# on corpus dir $1/<harness> plus the committed seeds, after replaying the
# inputs that once crashed it (tests/fuzz/crashes/<harness>/).
fuzz_run() {  # corpus-root label [nice level]
  local root=$1 label=$2 nice=${3:-0}
  local ok=0 bad=0
  for h in "$BUILD_FUZZ"/tests/fuzz/fuzz_*; do
    [ -f "$h" ] && [ -x "$h" ] || continue
    local name corpus log crashes
    name=$(basename "$h")
    [ -z "${FUZZ_HARNESS:-}" ] || [ "$FUZZ_HARNESS" = "$name" ] || continue
    corpus="$root/$name"
    mkdir -p "$corpus"
    log="$BUILD_FUZZ/$name.log"
    crashes=(tests/fuzz/crashes/"$name"/*)
    # Without FUZZ_PROXY_ALLOW: these inputs are how an open issue shows.
    # A failure is counted, and the fuzzing still runs.
    if [ -e "${crashes[0]}" ] &&
       ! env -u FUZZ_PROXY_ALLOW "$h" "${crashes[@]}" >"$log.replay" 2>&1; then
      bad=$((bad + 1))
      echo "$label $name: FAILED on an input of tests/fuzz/crashes/$name, see $log.replay"
      grep -m1 -E 'invariant failed|ERROR:' "$log.replay" || true
    fi
    if nice -n "$nice" "$h" -max_total_time="$FUZZ_SECONDS" -timeout=25 -print_final_stats=1 \
         -artifact_prefix="$BUILD_FUZZ/" "$corpus" "tests/fuzz/seeds/$name" \
         >"$log" 2>&1; then
      ok=$((ok + 1))
      echo "$label $name: clean, $(fuzz_figures "$log" "$FUZZ_SECONDS")"
    else
      bad=$((bad + 1))
      echo "$label $name: FAILED, see $log"; tail -40 "$log"
    fi
  done
  echo "$label: $ok passed, $bad failed"
  total_pass=$((total_pass + ok)); total_fail=$((total_fail + bad))
}

do_fuzz() {
  fuzz_build
  fuzz_run tests/fuzz/corpus-run fuzz
}

# A campaign: FUZZ_SECONDS per harness at the lowest priority, on a corpus
# kept between runs in $FUZZ_CORPUS (default tests/fuzz/corpus-long,
# ignored by git) so each run starts where the last one stopped.
do_fuzz_long() {
  fuzz_build
  fuzz_run "${FUZZ_CORPUS:-tests/fuzz/corpus-long}" fuzz-long "${FUZZ_NICE:-19}"
}

case "${1:-all}" in
  all)  do_normal; do_asan; do_fuzz ;;
  unit) do_unit ;;
  asan) do_asan ;;
  fuzz) do_fuzz ;;
  fuzz-long) do_fuzz_long ;;
  *) echo "usage: $0 all|unit|asan|fuzz|fuzz-long" >&2; exit 2 ;;
esac

echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
