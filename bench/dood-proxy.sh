#!/usr/bin/env bash
# The DooD policy proxy's overhead: medians of `docker run --rm busybox true`, of a `docker load`
# of a large image (the dind image), and of a BuildKit build (a context of 32 MiB, three steps
# that run every time, --load into the daemon), through the proxy and on the raw sockets, runs
# interleaved. Run it after the toolchain (it needs the images):
#
#   bash toolchain/run.sh bash bench/dood-proxy.sh [RUNS] [LOAD_RUNS] [BUILD_RUNS]
#
# It starts a proxy container of its own (dood-bench-proxy, scope own), a builder
# (dood-bench-buildkit, as DoodBuilder runs it) and a client to build from (dood-bench-client),
# removes them and what they made, and writes bench/dood-proxy.json. A build on the raw sockets
# dials the builder's buildkitd and the daemon directly; through the proxy it dials the proxy's
# builder socket (its gRPC read as buildx speaks it) and loads through the proxy (the archive read
# and written again entry by entry).
set -euo pipefail
runs="${1:-15}"
load_runs="${2:-5}"
build_runs="${3:-5}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir=/tmp/dind-provisioner-dood-bench
busybox=dind-provisioner/busybox:local
big=dind-provisioner/dind:local
raw=unix:///var/run/docker.sock
proxied="unix://$dir/sock/docker.sock"

cleanup() {
  docker rm -f dood-bench-proxy dood-bench-buildkit dood-bench-client >/dev/null 2>&1 || true
  docker volume rm dood-bench-buildkit dood-bench-buildkit-socket dood-bench-proxy >/dev/null 2>&1 || true
  docker rmi dood-bench-build:raw dood-bench-build:proxy dood-bench-big:1 >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
cleanup
mkdir -p "$dir/sock" "$dir/ctx"
# The builder as DoodBuilder runs it: the seccomp profile comes from the component.
(cd "$here/.." && node -r ts-node/register/transpile-only -e \
  'process.stdout.write(JSON.stringify(require("./components/builderSeccomp").BUILDER_SECCOMP_PROFILE))') >"$dir/seccomp.json"
docker run -d --name dood-bench-buildkit --cap-drop ALL --cap-add CHOWN --cap-add SETGID --cap-add SETUID \
  --security-opt no-new-privileges --security-opt "seccomp=$dir/seccomp.json" \
  -v dood-bench-buildkit:/var/lib/buildkit -v dood-bench-buildkit-socket:/run/buildkit \
  dind-provisioner/buildkit:local --oci-worker-no-process-sandbox >/dev/null
docker run -d --name dood-bench-proxy --read-only --cap-drop ALL --cap-add CHOWN --security-opt no-new-privileges --group-add 100000 \
  -e "DOOD_POLICY={\"client\":\"dood-bench\",\"binds\":[\"$dir\"],\"scope\":\"own\"}" -e DOOD_LISTEN=/run/dood/docker.sock \
  -e DOOD_STATE_DIR=/var/lib/dood-proxy -e DOOD_BUILDKIT_UPSTREAM=/run/buildkit/buildkitd.sock \
  -v /var/run/docker.sock:/var/run/docker.sock -v "$dir/sock:/run/dood" -v dood-bench-proxy:/var/lib/dood-proxy \
  -v dood-bench-buildkit-socket:/run/buildkit:ro dind-provisioner/dood-proxy:local >/dev/null
for _ in $(seq 50); do DOCKER_HOST="$proxied" docker version >/dev/null 2>&1 && break; sleep 0.1; done

time_of() { # DOCKER_HOST command... -> seconds
  local host="$1" start
  shift
  start="$EPOCHREALTIME"
  DOCKER_HOST="$host" "$@" >/dev/null
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -a run_raw run_proxy load_raw load_proxy build_raw build_proxy
time_of "$raw" docker run --rm "$busybox" true >/dev/null   # warm both paths once
time_of "$proxied" docker run --rm "$busybox" true >/dev/null
for _ in $(seq "$runs"); do
  run_raw+=("$(time_of "$raw" docker run --rm "$busybox" true)")
  run_proxy+=("$(time_of "$proxied" docker run --rm "$busybox" true)")
done
# Under a tag of the bench's own: through the proxy (scope own), a load may write only tags the
# client created, and the proxy's load goes first, so that the tag is its.
docker tag "$big" dood-bench-big:1 && docker save dood-bench-big:1 -o "$dir/big.tar" && docker rmi dood-bench-big:1 >/dev/null
size_mb=$(( $(stat -c %s "$dir/big.tar") / 1048576 ))
for _ in $(seq "$load_runs"); do
  load_proxy+=("$(time_of "$proxied" docker load -q -i "$dir/big.tar")")
  load_raw+=("$(time_of "$raw" docker load -q -i "$dir/big.tar")")
done

# A build with no registry: busybox's binary is its base. Every step runs every time (--no-cache).
docker create --name dood-bench-bb "$busybox" true >/dev/null
docker cp dood-bench-bb:/bin/busybox "$dir/ctx/busybox" && docker rm dood-bench-bb >/dev/null
head -c $((32 << 20)) /dev/urandom >"$dir/ctx/payload"
cat >"$dir/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
COPY payload /payload
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sha256sum /payload > /sum && /bin/busybox cp /payload /copy"]
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox cat /sum"]
EOF
docker run -d --name dood-bench-client -w "$dir/ctx" -v "$dir:$dir" -v /var/run/docker.sock:/var/run/docker.sock -v "$dir/sock:/run/dood" \
  -v dood-bench-buildkit-socket:/run/buildkit:ro --group-add 100000 "$big" sleep infinity >/dev/null
docker exec dood-bench-client sh -c 'BUILDX_CONFIG=/tmp/buildx-raw docker buildx create --name raw --driver remote --driver-opt default-load=true unix:///run/buildkit/buildkitd.sock' >/dev/null
build_in_client() { # raw|proxy -> seconds
  local env
  if [ "$1" = raw ]; then env="BUILDX_CONFIG=/tmp/buildx-raw BUILDX_BUILDER=raw DOCKER_HOST=unix:///var/run/docker.sock"
  else env="BUILDX_CONFIG=/run/dood/buildx BUILDX_BUILDER=dood DOCKER_HOST=unix:///run/dood/docker.sock"; fi
  docker exec dood-bench-client sh -c "start=\$(date +%s.%N); env $env docker build -q --no-cache -t dood-bench-build:$1 . >/dev/null && echo \$(date +%s.%N) \$start" |
    awk '{ printf "%.3f\n", $1 - $2 }'
}
build_in_client raw >/dev/null # warm both paths once (the builder's first solve, buildx's first dial)
build_in_client proxy >/dev/null
for _ in $(seq "$build_runs"); do
  build_raw+=("$(build_in_client raw)")
  build_proxy+=("$(build_in_client proxy)")
done

m_run_raw=$(printf '%s\n' "${run_raw[@]}" | median)
m_run_proxy=$(printf '%s\n' "${run_proxy[@]}" | median)
m_load_raw=$(printf '%s\n' "${load_raw[@]}" | median)
m_load_proxy=$(printf '%s\n' "${load_proxy[@]}" | median)
m_build_raw=$(printf '%s\n' "${build_raw[@]}" | median)
m_build_proxy=$(printf '%s\n' "${build_proxy[@]}" | median)
load_average=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'docker run --rm busybox true (median of %s): raw %ss, proxy %ss\n' "$runs" "$m_run_raw" "$m_run_proxy"
printf 'docker load of %s (%s MiB, median of %s): raw %ss, proxy %ss\n' "$big" "$size_mb" "$load_runs" "$m_load_raw" "$m_load_proxy"
printf 'BuildKit build, 32 MiB context, --no-cache, --load (median of %s): raw %ss, proxy %ss (runs: raw %s; proxy %s)\n' \
  "$build_runs" "$m_build_raw" "$m_build_proxy" "${build_raw[*]}" "${build_proxy[*]}"
printf 'load average at the end: %s\n' "$load_average"
cat >"$here/dood-proxy.json" <<JSON
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "loadAverage": "$load_average",
  "run": { "runs": $runs, "rawMedianSeconds": $m_run_raw, "proxyMedianSeconds": $m_run_proxy },
  "load": { "image": "$big", "sizeMiB": $size_mb, "runs": $load_runs, "rawMedianSeconds": $m_load_raw, "proxyMedianSeconds": $m_load_proxy },
  "build": { "contextMiB": 32, "runs": $build_runs, "rawMedianSeconds": $m_build_raw, "proxyMedianSeconds": $m_build_proxy,
    "rawSeconds": [$(IFS=,; echo "${build_raw[*]}")], "proxySeconds": [$(IFS=,; echo "${build_proxy[*]}")] }
}
JSON
