#!/usr/bin/env bash
# Brings up what the real lane needs on this machine, then runs the given command with it:
# a Docker engine, the local images (DinD, busybox, registry), the DooD policy proxy's image, the
# Pulumi CLI with a Node.js language host, and the docker and tls resource plugins.
# Every step is idempotent and caches outside the repository; a warm run takes a few seconds.
#
#   bash scripts/toolchain.sh COMMAND [ARGS...]
#
# Each step's time is printed; DIND_PROVISIONER_BOOTSTRAP_TIMES=FILE also appends them there
# as "step seconds" lines (the benchmarks read it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

step() { # name command...
    local name="$1" start="$EPOCHREALTIME"
    shift
    "$@"
    local took
    took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    printf '[toolchain] %s: %ss\n' "$name" "$took" >&2
    if [ -n "${DIND_PROVISIONER_BOOTSTRAP_TIMES:-}" ]; then echo "$name $took" >>"$DIND_PROVISIONER_BOOTSTRAP_TIMES"; fi
}

total="$EPOCHREALTIME"
step engine bash "$here/bootstrap/engine.sh"
step images bash "$here/bootstrap/images.sh"
step registry-image bash "$here/bootstrap/registry-image.sh"
step dood-proxy-image bash "$here/bootstrap/dood-proxy-image.sh"
pulumi_bin=""
cli() { pulumi_bin="$(bash "$here/bootstrap/pulumi-cli.sh")"; }
step pulumi-cli cli
host_bin=""
language_host() { host_bin="$(bash "$here/bootstrap/pulumi-language-host.sh" "$pulumi_bin")"; }
step language-host language_host
step docker-plugin bash "$here/bootstrap/pulumi-docker-plugin.sh"
step tls-plugin bash "$here/bootstrap/pulumi-tls-plugin.sh"
printf '[toolchain] ready in %ss\n' "$(awk -v a="$total" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" >&2

export PATH="$pulumi_bin:$host_bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
exec "$@"
