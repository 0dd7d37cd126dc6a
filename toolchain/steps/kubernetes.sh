#!/usr/bin/env bash
# Builds what the Kubernetes tests' cluster runs, offline, in one `go build` of toolchain/modules/kubernetes
# (k8s.io/kubernetes v1.34.3 from the Go module proxy, its staging modules at their published
# versions):
#   kube-apiserver, kube-controller-manager, kube-scheduler   the control plane
#   kubelet, kube-proxy                                        the node agents
#   local-path-provisioner                                     rancher's v0.0.30, the cluster's storage
#   pause                                                      the pods' sandbox process (toolchain/modules/kubernetes/pause)
# Kubernetes' version is set as its own build sets it (-X k8s.io/component-base/version.*), so
# clients and `kubectl version` read v1.34.3. etcd is Debian's etcd-server, in the node image
# (toolchain/steps/kube-node-image.sh).
#
# Usage: kubernetes.sh [--print-path]
#   --print-path  print the directory holding the binaries on stdout
#
# Cached under $DP_CACHE/kubernetes/<key>/, keyed by toolchain/modules/kubernetes and this script; its Go
# build cache is $DP_CACHE/go-build-kubernetes. Measured cold: see docs/scale.md. A warm run
# checks the key only.
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=kubernetes
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly KUBE_VERSION=v1.34.3
readonly PROGRAMS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy local-path-provisioner pause)
print_path_args "$@"

TOOL="$DP_ROOT/toolchain/modules/kubernetes"
KEY=$(tool_key "$TOOL")
ARTIFACT="$DP_CACHE/kubernetes/$KEY"

if [ ! -f "$ARTIFACT/.complete" ]; then hold_lock kubernetes; fi
if [ ! -f "$ARTIFACT/.complete" ]; then
  find_go kubernetes
  log "building Kubernetes $KUBE_VERSION (${PROGRAMS[*]}; cold: about 10 minutes on 2 idle cores)"
  t0=$EPOCHREALTIME
  rm -rf "$ARTIFACT.tmp" && mkdir -p "$ARTIFACT.tmp"
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
  ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z -X main.VERSION=v0.0.30"
  # Two invocations of one module (same versions, same build cache, so the second compiles only
  # the provisioner's own packages): the provisioner imports github.com/Sirupsen/logrus, Kubernetes
  # github.com/sirupsen/logrus, and one build refuses both spellings ("case-insensitive import collision").
  build() { (cd "$TOOL" && GOCACHE="$DP_CACHE/go-build-kubernetes" GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=0 \
    "$GO_BIN" build -trimpath -ldflags "$ldflags" -o "$ARTIFACT.tmp/" "$@") >>"$ARTIFACT.tmp/build.log" 2>&1; }
  if ! build k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
      k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy ./pause ||
    ! build github.com/rancher/local-path-provisioner; then
    tail -n 30 "$ARTIFACT.tmp/build.log" >&2
    die "go build failed (log: $ARTIFACT.tmp/build.log)"
  fi
  for program in "${PROGRAMS[@]}"; do [ -x "$ARTIFACT.tmp/$program" ] || die "go build made no $program"; done
  for program in kube-apiserver kubelet; do
    "$ARTIFACT.tmp/$program" --version | grep -q "$KUBE_VERSION" || die "built $program does not report $KUBE_VERSION"
  done
  echo "built=$(date -u +%FT%TZ) seconds=$(since "$t0")" >"$ARTIFACT.tmp/.complete"
  rm -rf "$ARTIFACT" && mv "$ARTIFACT.tmp" "$ARTIFACT"
  find "$DP_CACHE/kubernetes" -mindepth 1 -maxdepth 1 ! -name "$KEY" -exec rm -rf {} +
  log "built in $(since "$t0"): $ARTIFACT"
fi

if [ "$print_path" = 1 ]; then printf '%s\n' "$ARTIFACT"; fi
log "ready ($(elapsed))"
