#!/usr/bin/env bash
# How long an inner engine takes to answer: from `docker run` of a DinD image (privileged, storage
# on a fresh volume) to the first OK of its /_ping, asked every 20 ms over a unix socket published
# to this machine. Compares DinD images (the bookworm and trixie builds of the project's image).
#
#   inner-engine.sh RUNS IMAGE...     prints "IMAGE VERSION median_s min_s max_s" per image
set -euo pipefail
runs="$1"; shift
scratch="$(mktemp -d /tmp/dind-inner-engine-XXXXXX)"
trap 'docker rm -f -v dind-inner-engine >/dev/null 2>&1 || true; docker volume rm dind-inner-engine >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
now() { date +%s.%N; }
for image in "$@"; do
    samples=()
    for _ in $(seq "$runs"); do
        rm -f "$scratch/docker.sock"
        start="$(now)"
        docker run -d --privileged --name dind-inner-engine -v dind-inner-engine:/var/lib/docker -v "$scratch:/run/dind-host" \
            "$image" dockerd --host=unix:///var/run/docker.sock --host=unix:///run/dind-host/docker.sock >/dev/null
        until curl -sf --max-time 1 --unix-socket "$scratch/docker.sock" http://docker/_ping >/dev/null 2>&1; do sleep 0.02; done
        samples+=("$(awk -v end="$(now)" -v start="$start" 'BEGIN { print end - start }')")
        version="$(curl -sf --unix-socket "$scratch/docker.sock" http://docker/version | sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -1)"
        docker rm -f -v dind-inner-engine >/dev/null
        docker volume rm dind-inner-engine >/dev/null
    done
    sorted="$(printf '%s\n' "${samples[@]}" | sort -n)"
    median="$(echo "$sorted" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
    printf '%s %s %.2f %.2f %.2f\n' "$image" "$version" "$median" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)"
done
