#!/usr/bin/env bash
# The installed synguard.service, checked by systemd itself (systemd is not
# PID 1 here, so `systemd-analyze verify` is what can run): every key known
# in its section, every capability and address family known, the commands
# executable, the man pages of Documentation= installed.  Any message fails.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (scripts/deps.sh test)"; exit 1; }

# verify checks that ExecStart= names an executable; the installed one is
# under DESTDIR, so only that path is rewritten, nothing else.
V=$DEST/verify
mkdir -p "$V"
sed "s|^ExecStart=$BIN_SG |ExecStart=$DEST$BIN_SG |" "$DEST$UNIT" >"$V/synguard.service"
[ "$(diff "$DEST$UNIT" "$V/synguard.service" | grep -c '^>')" = 1 ] \
  || { echo "FAIL: ExecStart= does not start with $BIN_SG: $(grep ExecStart= "$DEST$UNIT")"; exit 1; }

analyze() {  # unit-file: verify's messages, and its exit code if not 0
  local rc=0 out
  out=$(MANPATH="$DEST$SG_MANDIR" systemd-analyze verify "$1" 2>&1) || rc=$?
  printf '%s' "$out"
  [ "$rc" -eq 0 ] || printf '\n(exit %s)' "$rc"
}

# First, that verify catches a mistake here at all (an unknown key).
sed 's/^\[Service\]/[Service]\nNoSuchKey=yes/' "$V/synguard.service" >"$V/bad.service"
out=$(analyze "$V/bad.service")
[[ $out == *"Unknown key"*"NoSuchKey"* ]] \
  && ok "verify reports an unknown key" || fail "verify did not report an unknown key: $out"
rm "$V/bad.service"

out=$(analyze "$V/synguard.service")
[ -z "$out" ] && ok "systemd-analyze verify: no message" || fail "systemd-analyze verify:"$'\n'"$out"

# The contract with the daemon (docs/synguard.8): readiness and watchdog by
# sd_notify, reload by SIGHUP, control socket in /run/synguard.
for line in 'Type=notify' 'ExecReload=/bin/kill -HUP $MAINPID' 'RuntimeDirectory=synguard' \
            'LimitMEMLOCK=infinity' 'Restart=on-failure' 'RestartPreventExitStatus=1 2'; do
  grep -qxF "$line" "$V/synguard.service" && ok "$line" || fail "the unit lacks $line"
done
grep -qE '^WatchdogSec=[1-9]' "$V/synguard.service" && ok "WatchdogSec= set" || fail "the unit lacks WatchdogSec="
# Installing must not start anything: the ports are not named yet.
grep -qx 'WantedBy=multi-user.target' "$V/synguard.service" && ok "WantedBy=multi-user.target" \
  || fail "the unit lacks WantedBy=multi-user.target"

# Hardening, scored by systemd (0 best, 10 worst; 4.5 when written).  A
# directive dropped by mistake pushes it over 5.
out=$(systemd-analyze security --offline=yes --threshold=50 "$V/synguard.service" 2>&1 | tail -1) || true
score=$(sed -n 's/.*Overall exposure level for synguard.service: \([0-9.]*\).*/\1/p' <<<"$out")
if [ -z "$score" ]; then
  fail "systemd-analyze security: $out"
elif awk -v s="$score" 'BEGIN { exit !(s <= 5.0) }'; then
  ok "systemd-analyze security: exposure $score"
else
  fail "systemd-analyze security: exposure $score, more than 5.0"
fi
finish install-unit-verify
