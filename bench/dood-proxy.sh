#!/usr/bin/env bash
# The DooD policy proxy's overhead: medians of `docker run --rm busybox true` and of a
# `docker load` of a large image (the dind image), through the proxy and on the raw socket,
# runs interleaved. Run it after the toolchain (it needs the images):
#
#   bash toolchain/run.sh bash bench/dood-proxy.sh [RUNS] [LOAD_RUNS]
#
# It starts a proxy container of its own (dood-bench-proxy, scope own, no binds) and removes it,
# and writes bench/dood-proxy.json.
set -euo pipefail
runs="${1:-15}"
load_runs="${2:-5}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir=/tmp/dind-provisioner-dood-bench
busybox=dind-provisioner/busybox:local
big=dind-provisioner/dind:local
raw=unix:///var/run/docker.sock
proxied="unix://$dir/sock/docker.sock"

cleanup() { docker rm -f dood-bench-proxy >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
cleanup
mkdir -p "$dir/sock"
docker run -d --name dood-bench-proxy --read-only --cap-drop ALL --cap-add CHOWN --security-opt no-new-privileges \
  -e 'DOOD_POLICY={"client":"dood-bench","binds":[],"scope":"own"}' -e DOOD_LISTEN=/run/dood/docker.sock \
  -v /var/run/docker.sock:/var/run/docker.sock -v "$dir/sock:/run/dood" dind-provisioner/dood-proxy:local >/dev/null
for _ in $(seq 50); do DOCKER_HOST="$proxied" docker version >/dev/null 2>&1 && break; sleep 0.1; done

time_of() { # DOCKER_HOST command... -> seconds
  local host="$1" start
  shift
  start="$EPOCHREALTIME"
  DOCKER_HOST="$host" "$@" >/dev/null
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -a run_raw run_proxy load_raw load_proxy
time_of "$raw" docker run --rm "$busybox" true >/dev/null   # warm both paths once
time_of "$proxied" docker run --rm "$busybox" true >/dev/null
for _ in $(seq "$runs"); do
  run_raw+=("$(time_of "$raw" docker run --rm "$busybox" true)")
  run_proxy+=("$(time_of "$proxied" docker run --rm "$busybox" true)")
done
docker save "$big" -o "$dir/big.tar"
size_mb=$(( $(stat -c %s "$dir/big.tar") / 1048576 ))
for _ in $(seq "$load_runs"); do
  load_raw+=("$(time_of "$raw" docker load -q -i "$dir/big.tar")")
  load_proxy+=("$(time_of "$proxied" docker load -q -i "$dir/big.tar")")
done

m_run_raw=$(printf '%s\n' "${run_raw[@]}" | median)
m_run_proxy=$(printf '%s\n' "${run_proxy[@]}" | median)
m_load_raw=$(printf '%s\n' "${load_raw[@]}" | median)
m_load_proxy=$(printf '%s\n' "${load_proxy[@]}" | median)
printf 'docker run --rm busybox true (median of %s): raw %ss, proxy %ss\n' "$runs" "$m_run_raw" "$m_run_proxy"
printf 'docker load of %s (%s MiB, median of %s): raw %ss, proxy %ss\n' "$big" "$size_mb" "$load_runs" "$m_load_raw" "$m_load_proxy"
cat >"$here/dood-proxy.json" <<JSON
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "run": { "runs": $runs, "rawMedianSeconds": $m_run_raw, "proxyMedianSeconds": $m_run_proxy },
  "load": { "image": "$big", "sizeMiB": $size_mb, "runs": $load_runs, "rawMedianSeconds": $m_load_raw, "proxyMedianSeconds": $m_load_proxy }
}
JSON
