#!/usr/bin/env bash
# `meson install` puts exactly the files an operator needs where the system
# looks for them, with modes that let it work: daemon and client 0755,
# configuration, unit, pages and completion 0644, and nothing else (no test
# program, no benchmark).
. "$(dirname "$0")/lib.sh"

expect() {  # path mode [symlink-target]
  local f=$DEST$1 want=$2 got
  if [ -n "${3:-}" ]; then
    if [ -L "$f" ] && [ "$(readlink "$f")" = "$3" ]; then ok "$1 -> $3"
    else fail "$1: not a symlink to $3"; fi
    return
  fi
  [ -f "$f" ] && [ ! -L "$f" ] || { fail "$1: not installed"; return; }
  got=$(stat -c %a "$f")
  [ "$got" = "$want" ] && ok "$1 $got" || fail "$1: mode $got, want $want"
}
expect "$BIN_SG" 755
expect "$BIN_CTL" 755
expect "$CONF" 644
expect "$DEFAULTS" 644
expect "$UNIT" 644
expect "$MAN8_SG" 644
expect "$MAN8_CTL" 644
expect "$MAN5_CONF" 644
expect "$COMPL" 644
expect "$COMPL_CTL" - synguard

# Nothing more: a stray `install: true` ships a test binary to every host.
want=$(printf '%s\n' "$BIN_SG" "$BIN_CTL" "$CONF" "$DEFAULTS" "$UNIT" "$MAN8_SG" \
         "$MAN8_CTL" "$MAN5_CONF" "$COMPL" "$COMPL_CTL" | sort)
got=$(cd "$DEST" && find . -type f -o -type l | sed 's|^\.||' | sort)
extra=$(comm -13 <(echo "$want") <(echo "$got"))
[ -z "$extra" ] && ok "nothing else installed" || fail "unexpected files installed: $extra"

# What is installed works as installed.
out=$("$DEST$BIN_SG" --version 2>&1) && [[ $out == "synguard "* ]] \
  && ok "$BIN_SG --version: $out" || fail "$BIN_SG --version: $out"
rc=0; out=$("$DEST$BIN_CTL" --help 2>&1) || rc=$?
[ "$rc" -eq 0 ] && [[ $out == *"usage: synguardctl"* ]] \
  && ok "$BIN_CTL --help" || fail "$BIN_CTL --help: exit $rc: $out"
out=$("$DEST$BIN_SG" --check-config "$DEST$CONF" 2>&1) \
  && ok "the installed configuration is valid" || fail "synguard --check-config $CONF: $out"
for page in "$MAN8_SG" "$MAN8_CTL" "$MAN5_CONF"; do
  # man's own check: an error in the page (an unknown macro) is a warning.
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$DEST$page" 2>&1 >/dev/null)
  [ -z "$out" ] && ok "$page renders without warnings" || fail "$page: $out"
done

# The unit runs what was installed, with the installed configuration.
u=$DEST$UNIT
grep -qx "ExecStart=$BIN_SG --lan \${SYNGUARD_LAN} --wan \${SYNGUARD_WAN} -c $CONF \$SYNGUARD_OPTS" "$u" \
  && ok "the unit starts $BIN_SG -c $CONF" || fail "the unit's ExecStart: $(grep ExecStart= "$u")"
grep -qx "EnvironmentFile=$DEFAULTS" "$u" \
  && ok "the unit reads $DEFAULTS" || fail "the unit's EnvironmentFile: $(grep EnvironmentFile= "$u")"
! grep -q '@[a-z]*@' "$u" && ok "no @placeholder@ left in the unit" || fail "unsubstituted: $(grep '@[a-z]*@' "$u")"
# The ports file the unit reads defines what the unit uses.
for v in SYNGUARD_LAN SYNGUARD_WAN SYNGUARD_OPTS; do
  grep -q "^$v=" "$DEST$DEFAULTS" && ok "$DEFAULTS sets $v" || fail "$DEFAULTS does not set $v"
done
finish install-layout
