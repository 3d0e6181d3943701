#!/usr/bin/env bash
# The installed bash completion: valid bash, and it completes what the
# commands accept.  Sourced in a bare bash (no bash-completion package) and
# driven as bash drives it: COMP_WORDS, COMP_CWORD, then COMPREPLY.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

for f in "$COMPL" "$COMPL_CTL"; do
  bash -n "$DEST$f" && ok "bash -n $f" || fail "bash -n $f"
done

complete_words() {  # file words...: the completions of the last word
  bash --norc --noprofile -c '
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    spec=$(complete -p "$1") || exit 3
    fn=${spec#*-F }; fn=${fn%% *}
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
check() {  # file want words...
  local file=$1 want=$2 got; shift 2
  got=$(complete_words "$DEST$file" "$@" | sort | tr '\n' ' ' | sed 's/ $//')
  [ "$got" = "$want" ] && ok "'$*<TAB>' -> $want" || fail "'$*<TAB>' -> '$got', want '$want'"
}
# Each name loads the one file (bash-completion looks a command up by name).
check "$COMPL_CTL" "stats status" synguardctl st
check "$COMPL_CTL" "capture conns handover help pins policy stats status top" synguardctl -s /run/x.sock ""
check "$COMPL_CTL" "add del list" synguardctl pins ""
check "$COMPL_CTL" "add default del list monitor" synguardctl -j policy ""
check "$COMPL_CTL" "mss" synguardctl pins add 192.0.2.1 m
check "$COMPL_CTL" "" synguardctl pins add 192.0.2.1 mss ""
check "$COMPL_CTL" "off on" synguardctl pins add 192.0.2.1 sack ""
check "$COMPL_CTL" "port" synguardctl pins del 192.0.2.1 ""
check "$COMPL_CTL" "action ports" synguardctl policy add 192.0.2.0/24 ""
check "$COMPL_CTL" "bypass drop proxy track" synguardctl policy add 192.0.2.0/24 action ""
check "$COMPL_CTL" "off on" synguardctl policy monitor ""
check "$COMPL_CTL" "--csv" synguardctl top --c
check "$COMPL_CTL" "state" synguardctl conns dport 443 st
check "$COMPL_CTL" "established" synguardctl conns state est
check "$COMPL_CTL" "" synguardctl conns src ""
check "$COMPL_CTL" "--reason" synguardctl capture --rea
check "$COMPL_CTL" "unknown_connection" synguardctl capture -c 3 --reason unk
check "$COMPL_CTL" "etc/synguard.conf" synguardctl capture -w etc/synguard.c
check "$COMPL_CTL" "--json" synguardctl stats --j
check "$COMPL_CTL" "" synguardctl stats ""
check "$COMPL" "--lan" synguard --l
check "$COMPL" "--wan" synguard --lan eth1 --w
check "$COMPL" "afpacket afxdp" synguard --io af
check "$COMPL" "--threads" synguard --thr
# The interfaces of this machine whose names start with l (lo at least).
ifs_l=$(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep '^l' | sort | tr '\n' ' ' | sed 's/ $//')
check "$COMPL" "$ifs_l" synguard --lan l
check "$COMPL" "etc/synguard.conf" synguard -c etc/synguard.c
check "$COMPL" "etc/synguard.conf" synguard --check-config etc/synguard.c

# Every long option the programs accept is offered, and only those:
# compared with the getopt tables in the sources.
opts() { grep -oP '\{ "\K[a-z-]+(?=", (no|required|optional)_argument)' "$1" | sed 's/^/--/' | sort | tr '\n' ' '; }
offered() { complete_words "$DEST$1" "${@:2}" | grep '^--' | sort | tr '\n' ' '; }
[ "$(offered "$COMPL" synguard --)" = "$(opts src/daemon/cli.c)" ] \
  && ok "synguard: every long option of src/daemon/cli.c" \
  || fail "synguard: offers '$(offered "$COMPL" synguard --)', cli.c has '$(opts src/daemon/cli.c)'"
[ "$(offered "$COMPL_CTL" synguardctl --)" = "$(opts tools/ctl/synguardctl.c)" ] \
  && ok "synguardctl: every long option of tools/ctl/synguardctl.c" \
  || fail "synguardctl: offers '$(offered "$COMPL_CTL" synguardctl --)', synguardctl.c has '$(opts tools/ctl/synguardctl.c)'"
finish install-completion
