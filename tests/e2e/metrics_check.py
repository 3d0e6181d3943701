#!/usr/bin/env python3
"""Reads a /metrics scrape on stdin and checks it with the Prometheus
client library's own text parser (python3-prometheus-client):

    metrics_check.py VERSION WORKERS

The handshake histogram counted at least one proxied connection, drops
come with reason labels, every worker has its samples, and the build info
names VERSION.  Exits 1 with what is missing."""
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    version, workers = sys.argv[1], int(sys.argv[2])
    fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
    errors = []

    def need(cond, what):
        if not cond:
            errors.append(what)

    # The parser names counters without _total; histograms without suffixes.
    build = fams.get("synguard_build_info")
    need(build and any(s.labels.get("version") == version for s in build.samples),
         "synguard_build_info{version=%r}" % version)

    drops = fams.get("synguard_drops")
    need(drops and drops.type == "counter", "counter family synguard_drops_total")
    reasons = {s.labels.get("reason") for s in drops.samples} if drops else set()
    need({"bad_checksum", "cookie_invalid", "table_full"} <= reasons,
         "drops by reason (have %s)" % sorted(reasons))

    hist = fams.get("synguard_handshake_duration_seconds")
    need(hist and hist.type == "histogram", "histogram synguard_handshake_duration_seconds")
    if hist:
        count = sum(s.value for s in hist.samples if s.name.endswith("_count"))
        need(count >= 1, "handshakes timed: %d, want >= 1" % count)
        for w in range(workers):
            inf = [s.value for s in hist.samples if s.name.endswith("_bucket")
                   and s.labels == {"worker": str(w), "le": "+Inf"}]
            cnt = [s.value for s in hist.samples if s.name.endswith("_count")
                   and s.labels == {"worker": str(w)}]
            need(inf and cnt and inf == cnt, "worker %d: +Inf bucket == count" % w)

    for fam in ("synguard_proxy_events", "synguard_io_frames", "synguard_worker_events"):
        f = fams.get(fam)
        seen = {s.labels.get("worker") for s in f.samples} if f else set()
        need(seen == {str(w) for w in range(workers)},
             "%s for workers 0..%d (have %s)" % (fam, workers - 1, sorted(seen)))

    opened = sum(s.value for s in fams["synguard_proxy_events"].samples
                 if s.labels.get("event") == "proxied_established") if "synguard_proxy_events" in fams else 0
    need(opened >= 1, "proxy_events{event=proxied_established} >= 1")
    for g in ("synguard_conntrack_entries", "synguard_syncache_entries", "synguard_learned_servers"):
        need(g in fams and fams[g].type == "gauge", "gauge " + g)
    need("synguard_learned_servers" in fams and fams["synguard_learned_servers"].samples[0].value >= 1,
         "a learned server after a proxied handshake")

    for e in errors:
        print("metrics: missing: " + e, file=sys.stderr)
    print("metrics: %d families parsed, %d problems" % (len(fams), len(errors)))
    return 1 if errors else 0


sys.exit(main())
