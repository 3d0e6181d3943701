#!/usr/bin/env bash
# Without -c, the installed synguard reads SYSCONFDIR/synguard/synguard.conf
# if it exists, and runs on the defaults if it does not; -c naming a missing
# file is an error.  The host's directory is left alone: each case runs in
# a mount namespace of its own with a directory of the test's bound over it.
. "$(dirname "$0")/lib.sh"
command -v unshare >/dev/null || { echo "FAIL: unshare missing (util-linux)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (a mount namespace)"; exit 1; }
if [ -d "$SG_SYSCONFDIR/synguard" ]; then
  over=$SG_SYSCONFDIR/synguard; sub=.
elif [ -d "$SG_SYSCONFDIR" ] && [ "$SG_SYSCONFDIR" != /etc ]; then
  over=$SG_SYSCONFDIR; sub=synguard
else
  echo "SKIP: nothing to bind over for $SG_SYSCONFDIR/synguard without hiding /etc"; exit 77
fi
DIR=$DEST/sysconf
run() {  # runs the installed synguard with $DIR bound over $over
  unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' \
    sh "$DIR" "$over" "$DEST$BIN_SG" "$@" 2>&1
}
expect() {  # name want_rc pattern args...
  local name=$1 want=$2 pat=$3 out rc; shift 3
  out=$(run "$@") && rc=0 || rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then ok "$name"
  else fail "$name: exit $rc (want $want):"; sed 's/^/  /' <<<"$out"; fi
}
PORTS=(--lan sgdc-nosuch0 --wan sgdc-nosuch1)   # exit 3 after the configuration

mkdir -p "$DIR/$sub"
expect "no file: the defaults" 3 "no -c given and no $CONF: every option has its default" -v "${PORTS[@]}"
cp "$DEST$CONF" "$DIR/$sub/synguard.conf"
expect "the installed file is read" 3 "configuration: $CONF \(no -c given\)" -v "${PORTS[@]}"
printf 'threads = 1;\nthreads_typo = 2;\n' >"$DIR/$sub/synguard.conf"
expect "a bad default file is an error" 1 "$CONF:2: unknown option 'threads_typo'" "${PORTS[@]}"
expect "-c naming a missing file is an error" 1 "$DEST/none.conf: cannot read the file: No such file" \
  -c "$DEST/none.conf" "${PORTS[@]}"
finish install-default-config
