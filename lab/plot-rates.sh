#!/usr/bin/env bash
# Draws the rates `synguardctl top --csv` recorded (lab/demo.sh --plot
# records them during the demo) with gnuplot: SYNs, SYN-ACKs, valid and
# invalid cookies, connections opened and drops per second over time, and
# the connection table's entries on a second axis.
#
#   lab/plot-rates.sh RATES.csv OUT.png [TITLE]
#   synguardctl top --csv -n 60 > rates.csv; lab/plot-rates.sh rates.csv rates.png
set -euo pipefail

CSV=${1:?RATES.csv}
PNG=${2:?OUT.png}
TITLE=${3:-synguard: rates per second (synguardctl top --csv)}
command -v gnuplot >/dev/null || { echo "plot-rates: gnuplot missing: scripts/deps.sh demo" >&2; exit 1; }
want="time_s,syn,synack,cookie_valid,cookie_invalid,syncache_opened,opened,dropped,table_entries"
[ "$(head -1 "$CSV")" = "$want" ] || { echo "plot-rates: $CSV: not synguardctl top --csv output (header $want)" >&2; exit 1; }
[ "$(wc -l <"$CSV")" -ge 3 ] || { echo "plot-rates: $CSV: fewer than two frames to draw" >&2; exit 1; }

gnuplot <<GP
set terminal pngcairo noenhanced size 1000,560 font "sans,10"
set output "$PNG"
set datafile separator ","
set key autotitle columnhead top left
set title "$TITLE"
set xlabel "time (s)"
set ylabel "per second"
set y2label "connection table entries"
set ytics nomirror
set y2tics
set grid
plot "$CSV" using 1:2 with lines lw 2, \
     "" using 1:3 with lines lw 2, \
     "" using 1:4 with lines lw 2, \
     "" using 1:5 with lines, \
     "" using 1:7 with lines lw 2, \
     "" using 1:8 with lines, \
     "" using 1:9 axes x1y2 with lines dt 2
GP
echo "plot-rates: $PNG"
