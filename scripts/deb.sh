#!/usr/bin/env bash
# Builds the Debian package (`make deb`) from a copy of the source in
# build-deb/, so that what dpkg-buildpackage leaves behind (debian/synguard/,
# obj-*/, the .deb written to the parent directory) stays out of the tree.
#   scripts/deb.sh            -> build-deb/synguard_VERSION_ARCH.deb
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BUILD_DEB:-build-deb}
version=$(dpkg-parsechangelog -S Version)
src=$OUT/synguard-$version

rm -rf "$OUT"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # The working tree as it is (edits and new files included), without what
  # git ignores (build directories, fuzz corpora).
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude='./build*' --exclude="./$OUT" -cf - . | tar -xf - -C "$src"
fi

(cd "$src" && dpkg-buildpackage -us -uc -b)
rm -rf "$src"
echo "deb: $(ls "$OUT"/*.deb | tr '\n' ' ')"
