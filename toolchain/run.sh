#!/usr/bin/env bash
# Brings up what the provisioner needs on this machine, then runs the given command with it:
# a Docker engine, the local images (DinD, whose docker CLI has the buildx and compose plugins,
# busybox, registry), the DooD policy proxy's image, the restricted DooD clients' BuildKit builder
# image, the Pulumi CLI and the docker and tls resource plugins (and the kubernetes plugin when a
# stack under stacks/ declares a kubernetes daemon). With DIND_PROVISIONER_TOOLCHAIN=test, also what only the
# tests need: the remote-daemon tests' image, a Node.js language host for the Pulumi CLI, the
# kubernetes plugin and the Kubernetes tests' cluster (its components, built from the Go module
# proxy, and its node image). A user's `npm run up` never waits for those.
# Every step is idempotent and caches outside the repository; a warm run takes a few seconds.
#
#   [DIND_PROVISIONER_TOOLCHAIN=product|test] bash toolchain/run.sh COMMAND [ARGS...]
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

parts="${DIND_PROVISIONER_TOOLCHAIN:-product}"
case "$parts" in
    product | test) ;;
    *) echo "[toolchain] DIND_PROVISIONER_TOOLCHAIN is \"$parts\": expected product or test" >&2; exit 2 ;;
esac
tests() { [ "$parts" = test ]; }
# A stack on a kubernetes daemon needs the kubernetes plugin; the local stack does not.
wants_kubernetes() { tests || grep -Eqs '^[[:space:]]+kubernetes:' "$here/../stacks/"*.yaml; }

total="$EPOCHREALTIME"
step engine bash "$here/steps/engine.sh"
step images bash "$here/steps/images.sh"
if tests; then step remote-daemon-image bash "$here/steps/remote-daemon-image.sh"; fi
step registry-image bash "$here/steps/registry-image.sh"
step dood-proxy-image bash "$here/steps/dood-proxy-image.sh"
step buildkit-image bash "$here/steps/buildkit-image.sh"
pulumi_bin=""
cli() { pulumi_bin="$(bash "$here/steps/pulumi-cli.sh")"; }
step pulumi-cli cli
host_bin=""
language_host() { host_bin="$(bash "$here/steps/pulumi-language-host.sh" "$pulumi_bin")"; }
if tests; then step language-host language_host; fi
step docker-plugin bash "$here/steps/pulumi-docker-plugin.sh"
step tls-plugin bash "$here/steps/pulumi-tls-plugin.sh"
if wants_kubernetes; then step kubernetes-plugin bash "$here/steps/pulumi-kubernetes-plugin.sh"; fi
if tests; then step kubernetes bash "$here/steps/kubernetes.sh"; fi
if tests; then step kube-node-image bash "$here/steps/kube-node-image.sh"; fi
printf '[toolchain] ready in %ss\n' "$(awk -v a="$total" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" >&2

export PATH="$pulumi_bin${host_bin:+:$host_bin}:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=true
exec "$@"
