#!/usr/bin/env bash
# debian/ stays in step with the rest of the tree: the package's version is
# the project's, and Build-Depends is what scripts/deps.sh installs to build
# (`make deb` installs with deps.sh, dpkg-buildpackage checks with control).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SG_VERSION:?run me from meson test}"
fails=0
ok()   { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# synguard (0.1.0) unstable; ...   or   synguard (0.1.0-1) ...
v=$(sed -n '1s/^synguard (\([^)]*\)).*/\1/p' debian/changelog)
[ "${v%-*}" = "$SG_VERSION" ] && ok "debian/changelog: $v" \
  || fail "debian/changelog has version '$v', meson.build has $SG_VERSION"

# Package names of the Build-Depends field, without versions.
control=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | sed '$d' |
          sed 's/^Build-Depends://; s/([^)]*)//g; s/#.*//' | tr ',' '\n' |
          sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | grep -v '^$' | sort -u)
list() {  # name of an array in scripts/deps.sh
  ( eval "$(sed -n "/^$1=(/,/)/p" scripts/deps.sh)"; eval "printf '%s\n' \"\${$1[@]}\"" )
}
deps=$( (list build_pkgs; list deb_pkgs) | sort -u)
# What build-essential (always there for a package build) or meson itself
# brings needs no line in Build-Depends; debhelper comes as debhelper-compat.
implied='gcc make python3 dpkg-dev debhelper'
for p in $deps; do
  [[ " $implied " == *" $p "* ]] && continue
  grep -qx "$p" <<<"$control" && ok "Build-Depends: $p" || fail "debian/control lacks $p (scripts/deps.sh has it)"
done
for p in $control; do
  [ "$p" = debhelper-compat ] && continue
  grep -qx "$p" <<<"$deps" && ok "scripts/deps.sh: $p" \
    || fail "scripts/deps.sh build|deb does not install $p (debian/control needs it)"
done
[ "$fails" -eq 0 ] && echo "PASS: debian" || { echo "FAIL: debian: $fails check(s)"; exit 1; }
