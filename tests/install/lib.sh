# Sourced by the tests in tests/install: installs the build into a fresh
# DESTDIR ($DEST, removed on exit) and names the installed files.
set -euo pipefail
: "${SG_BUILD:?run me from meson test}"
DEST=$(mktemp -d /tmp/sg-install-XXXXXX)
trap 'rm -rf "$DEST"' EXIT
# --no-rebuild: meson test has built everything; a rebuild here would race
# the other tests.
meson install -C "$SG_BUILD" --no-rebuild --destdir "$DEST" --quiet >/dev/null

fails=0
ok()   { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
finish() {  # name
  if [ "$fails" -eq 0 ]; then echo "PASS: $1"; else echo "FAIL: $1: $fails check(s)"; exit 1; fi
}

# Where each installed file is on the target machine (no DESTDIR).
BIN_SG=$SG_SBINDIR/synguard
BIN_CTL=$SG_SBINDIR/synguardctl
CONF=$SG_SYSCONFDIR/synguard/synguard.conf
DEFAULTS=$SG_SYSCONFDIR/default/synguard
UNIT=$SG_UNITDIR/synguard.service
COMPL=$SG_COMPLETIONSDIR/synguard
COMPL_CTL=$SG_COMPLETIONSDIR/synguardctl
MAN8_SG=$SG_MANDIR/man8/synguard.8
MAN8_CTL=$SG_MANDIR/man8/synguardctl.8
MAN5_CONF=$SG_MANDIR/man5/synguard.conf.5
