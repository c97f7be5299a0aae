#!/usr/bin/env bash
# Compares net/http on a uringnet listener with net/http on a package net
# listener under wrk, alternating the two for several rounds on one machine,
# and prints requests per second and server CPU microseconds per request
# (the server's own user+system time, read from /proc).
#
#   bash bench/wrk-compare.sh [rounds] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3} secs=${2:-5} conns=${3:-64}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bin=$(mktemp -d)/httpserver
go build -o "$bin" ./bench/httpserver
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_one() { # listener port
	"$bin" -listener "$1" -addr "127.0.0.1:$2" 2>/dev/null &
	local pid=$!
	for _ in $(seq 50); do curl -s "http://127.0.0.1:$2/" >/dev/null && break; sleep 0.1; done
	local t0; t0=$(cpu_ticks $pid)
	local out; out=$(wrk -t1 -c"$conns" -d"${secs}s" "http://127.0.0.1:$2/")
	local t1; t1=$(cpu_ticks $pid)
	kill $pid; wait $pid 2>/dev/null || true
	local rps reqs
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	local us; us=$(awk -v d=$((t1 - t0)) -v hz="$tck" -v n="$reqs" 'BEGIN {printf "%.2f", d / hz * 1e6 / n}')
	echo "$1 $rps $us"
}

echo "listener rps cpu_us_per_req"
for r in $(seq "$rounds"); do
	run_one uringnet 18081
	run_one net 18082
done
