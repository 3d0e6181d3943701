# What the end-to-end tests share, sourced by them: progress lines, the
# failure that shows synguard's stderr, and running a command in one of
# the three namespaces (client NC, middle NM where synguard runs, server
# NS).  Functions only; each test sets NC, NM, NS and TMP itself and may
# define its own fail() after sourcing this.

step() { echo "--- $*"; }
fail() {
  echo "FAIL: $*" >&2
  [ -f "$TMP/sg.err" ] && sed 's/^/  synguard: /' "$TMP/sg.err" >&2
  exit 1
}
inc() { ip netns exec "$NC" "$@"; }
ins() { ip netns exec "$NS" "$@"; }
inm() { ip netns exec "$NM" "$@"; }
