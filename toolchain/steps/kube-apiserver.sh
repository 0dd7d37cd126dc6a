#!/usr/bin/env bash
# Provides a real Kubernetes API server for the Kubernetes tests, offline:
#   kube-apiserver  Kubernetes' own, built from the Go module proxy through toolchain/modules/kube-apiserver
#                   (k8s.io/kubernetes v1.34.3, its staging modules at their published versions)
#   etcd            its storage: Debian's etcd-server, installed with apt when missing
#
# Usage: kube-apiserver.sh [--print-path]
#   --print-path  print the kube-apiserver binary's path, then etcd's, one a line, on stdout
#
# The binary is cached under $DP_CACHE/kube-apiserver/<key>/, keyed by toolchain/modules/kube-apiserver and
# this script; its Go build cache is $DP_CACHE/go-build-kube-apiserver. Measured cold on 2 busy
# cores: see docs/scale.md. A warm run checks the key only.
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=kube-apiserver
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly KUBE_VERSION=v1.34.3
print_path_args "$@"

TOOL="$DP_ROOT/toolchain/modules/kube-apiserver"
KEY=$(tool_key "$TOOL")
ARTIFACT="$DP_CACHE/kube-apiserver/$KEY"
BIN="$ARTIFACT/kube-apiserver"

if [ ! -f "$ARTIFACT/.complete" ]; then hold_lock kube-apiserver; fi
if [ ! -f "$ARTIFACT/.complete" ]; then
  find_go kube-apiserver
  log "building kube-apiserver $KUBE_VERSION (cold: several minutes on 2 cores)"
  t0=$EPOCHREALTIME
  rm -rf "$ARTIFACT.tmp" && mkdir -p "$ARTIFACT.tmp"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
  if ! (cd "$TOOL" && GOCACHE="$DP_CACHE/go-build-kube-apiserver" GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=0 \
    "$GO_BIN" build -trimpath -ldflags "$ldflags" -o "$ARTIFACT.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver) >"$ARTIFACT.tmp/build.log" 2>&1; then
    tail -n 30 "$ARTIFACT.tmp/build.log" >&2
    die "go build failed (log: $ARTIFACT.tmp/build.log)"
  fi
  "$ARTIFACT.tmp/kube-apiserver" --version | grep -q "$KUBE_VERSION" || die "built kube-apiserver does not report $KUBE_VERSION"
  echo "built=$(date -u +%FT%TZ) seconds=$(since "$t0")" >"$ARTIFACT.tmp/.complete"
  rm -rf "$ARTIFACT" && mv "$ARTIFACT.tmp" "$ARTIFACT"
  find "$DP_CACHE/kube-apiserver" -mindepth 1 -maxdepth 1 ! -name "$KEY" -exec rm -rf {} +
  log "built in $(since "$t0"): $BIN"
fi

if ! have etcd; then
  [ "$(id -u)" = 0 ] && have apt-get || die "etcd is missing: install Debian's etcd-server (as root: apt-get install etcd-server)"
  log "installing etcd-server with apt"
  apt-get install -y --no-install-recommends etcd-server >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends etcd-server >/dev/null; } ||
    die "apt-get install etcd-server failed"
fi
if [ "$print_path" = 1 ]; then printf '%s\n%s\n' "$BIN" "$(command -v etcd)"; fi
log "ready ($(elapsed))"
