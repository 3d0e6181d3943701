#!/usr/bin/env bash
# The daemon's command line: documented messages and exit codes.
#   cli.sh SYNGUARD SYNGUARDCTL EXAMPLE_CONF
set -uo pipefail
SG=$1 CTL=$2 CONF=$3
TMP=$(mktemp -d /tmp/sg-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0
check() {  # name want_rc pattern cmd...
  local name=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -qE -- "$pat" <<<"$out"; then
    echo "FAIL: $name: exit $rc (want $want), output:"; sed 's/^/  /' <<<"$out"
    fails=$((fails + 1))
  else
    echo "ok: $name"
  fi
}
check "--version" 0 '^synguard [0-9]+\.[0-9]+' "$SG" --version
check "--help" 0 'usage: synguard --lan IF --wan IF' "$SG" --help
check "two bare names" 2 'ambiguous: say which is which with --lan eth0 --wan eth1' "$SG" eth0 eth1
check "one port missing" 2 'both --lan and --wan are required' "$SG" --lan eth0
check "bad --io" 2 '--io: "dpdk" is not one of auto\|afxdp\|afpacket' "$SG" --lan a --wan b --io dpdk
# Numbers on the command line: digits only, range from the option table.
check "--threads 2x" 2 '--threads: "2x" is not an integer in 1\.\.64' "$SG" --lan a --wan b --threads 2x
check "--threads -1" 2 '--threads: "-1" is not an integer in 1\.\.64' "$SG" --lan a --wan b --threads -1
check "--threads 0" 2 '--threads: 0 is out of range 1\.\.64' "$SG" --lan a --wan b --threads 0
check "--threads 65" 2 '--threads: 65 is out of range 1\.\.64' "$SG" --lan a --wan b --threads 65
check "--cpus 1,x" 2 '--cpus: "1,x" is not a list like 1,3,5-7 of integers in 0\.\.4095' "$SG" --lan a --wan b --cpus 1,x
check "--cpus 4096" 2 '--cpus: entry 1 \(4096\) is out of range 0\.\.4095' "$SG" --lan a --wan b --cpus 4096
printf 'conntrack = { capacity = 16; };\n' >"$TMP/small.conf"
check "--threads over a small table" 1 'too small for the number of workers' \
  "$SG" -c "$TMP/small.conf" --lan a --wan b --threads 4
check "missing interface" 3 'nosuch0: ENODEV: no such network interface' "$SG" --lan nosuch0 --wan nosuch1
check "example config is valid" 0 'configuration is valid' "$SG" --check-config "$CONF"
printf 'threads = 2;\nconntrack = {\n  capacity = 3;\n};\n' >"$TMP/bad.conf"
check "bad value names file:line and range" 1 "$TMP/bad.conf:3: conntrack.capacity: 3 is out of range 16\.\.134217728" \
  "$SG" --check-config "$TMP/bad.conf"
printf 'threads = 1;\nthread = 2;\n' >"$TMP/typo.conf"
check "unknown option" 1 "$TMP/typo.conf:2: unknown option 'thread'" "$SG" -c "$TMP/typo.conf" --lan a --wan b
check "synguardctl without a daemon" 1 'is synguard running' "$CTL" -s "$TMP/none.sock" stats
check "synguardctl usage" 2 'usage: synguardctl' "$CTL" frobnicate
[ "$fails" -eq 0 ] && echo "PASS: cli" || { echo "FAIL: $fails check(s)"; exit 1; }
