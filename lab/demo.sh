#!/usr/bin/env bash
# Placeholder until the daemon exists (see README "Status").
cat <<'TXT'
synguard demo (not yet runnable)

When the daemon lands, this demo will create network namespaces -- a
client and an attacker on the WAN side, an HTTP server on the LAN side,
synguard bridging them -- run curl over IPv4 and IPv6 through synguard while
a bounded SYN flood with random sources hits the server's port, print
synguard's counters each second and a summary, and exit 0 only if every
legitimate request succeeded and no attacker SYN reached the server.
TXT
