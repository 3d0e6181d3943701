#!/usr/bin/env bash
# Installs the Debian packages synguard needs, only those missing.
#   scripts/deps.sh build   compiler, meson, libraries
#   scripts/deps.sh test    build + cmocka, clang/libFuzzer, namespace tools
#   scripts/deps.sh demo    build + the lab's tools (curl, trafgen, gnuplot, ...)
#   scripts/deps.sh bench   demo + what lab/bench needs (iperf3)
#   scripts/deps.sh deb     build + what `make deb` needs (debhelper, ...)
# Idempotent and quiet when everything is present, so every make target
# can call it.
set -euo pipefail

# cmocka is a build dependency: `make` builds the unit tests too.
build_pkgs=(gcc make meson ninja-build pkg-config python3 libcmocka-dev
            libsodium-dev libconfig-dev libpcap-dev libxdp-dev libbpf-dev libcap-dev
            libsystemd-dev      # sd_notify: READY=1 and the watchdog of synguard.service
            libmicrohttpd-dev)  # the /metrics endpoint
test_pkgs=(clang libclang-rt-14-dev libfuzzer-14-dev llvm
           iproute2 ethtool nftables iputils-ping curl netcat-openbsd
           netsniff-ng tcpdump
           # tests/e2e/metrics.sh parses /metrics with the client's parser
           python3-prometheus-client
           # tests/install: systemd-analyze checks the unit, systemd-nspawn
           # runs it under systemd, man checks the pages
           systemd systemd-container man-db)
# systemd: its systemd.pc tells meson (and so the package) where units go.
deb_pkgs=(debhelper dpkg-dev systemd)
demo_pkgs=(iproute2 ethtool curl netsniff-ng iputils-ping python3 nftables
           gnuplot-nox)   # demo.sh --plot, lab/plot-rates.sh
bench_pkgs=("${demo_pkgs[@]}" iperf3 util-linux bc)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}") ;;
  demo)  want+=("${demo_pkgs[@]}") ;;
  bench) want+=("${bench_pkgs[@]}") ;;
  deb)   want+=("${deb_pkgs[@]}") ;;
  *) echo "usage: $0 build|test|demo|bench|deb" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}" >&2
  echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
