#!/usr/bin/env bash
# Every file path the docs and the README name must exist in the tree: a
# map that points at files that are gone misleads the next engineer.
# Checks `code spans` and bare words that look like repository paths.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=0
for doc in README.md docs/*.md; do
  # Words like src/core/conn.c, docs/cookies.md, tests/e2e/, lab/bench.sh;
  # "a.h/.c" names two files.
  for w in $(grep -oP '(?<![\w/.~-])(src|docs|tests|tools|lab|scripts|etc|debian|\.ci)/[\w./-]*[\w/]' "$doc" | sort -u); do
    case "$w" in
      *'/.c'|*'/.h') continue ;;
    esac
    base=${w%/}
    if [[ "$base" == */*.h/.c ]]; then
      for f in "${base%/.c}" "${base%.h/.c}.c"; do
        [ -e "$f" ] || { echo "$doc: names $f, which does not exist"; missing=1; }
      done
      continue
    fi
    [ -e "$base" ] || { echo "$doc: names $base, which does not exist"; missing=1; }
  done
done
if [ "$missing" -ne 0 ]; then
  echo "FAIL: the docs name files that do not exist"
  exit 1
fi
echo "docs: every named path exists"
