#!/usr/bin/env bash
# Provides the images the Kubernetes tests' cluster (test/integration/fixtures/kube-cluster.sh) runs:
#   dind-provisioner/kube-node:local   a machine of the cluster, as kind's node image is one: the
#                                      dind image's Debian trixie (containerd 1.7, runc) plus Debian's
#                                      CNI plugins, conntrack, iproute2, etcd-server, curl and jq, the
#                                      Kubernetes binaries of toolchain/steps/kubernetes.sh, and
#                                      kube-node/entrypoint.sh and kube-node/kube-net.sh
#   dind-provisioner/pause:local       the pods' sandbox image (one static binary), which containerd
#                                      in the nodes is configured with
#   dind-provisioner/local-path-provisioner:local   the cluster's storage provisioner (one static binary)
# The nodes get the last two, the dind image and busybox by `ctr images import`: no registry.
#
# Usage: kube-node-image.sh   (needs dind-provisioner/dind:local: run images.sh first)
#
# Each image carries LABEL dind-provisioner.recipe=<hash of this script, kube-node/, the dind
# image's id and the Kubernetes build's key>; current images are left alone (warm: three
# `docker image inspect`). Cold: apt-get in a container of the dind image, then `docker commit`.
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=kube-node-image
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly NODE_TAG=dind-provisioner/kube-node:local PAUSE_TAG=dind-provisioner/pause:local \
  PROVISIONER_TAG=dind-provisioner/local-path-provisioner:local BASE=dind-provisioner/dind:local LABEL_KEY=dind-provisioner.recipe
readonly PACKAGES="containernetworking-plugins conntrack iproute2 etcd-server curl jq"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

base_id=$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null) || die "$BASE is missing: run toolchain/steps/images.sh first"
kube=$(bash "$here/kubernetes.sh" --print-path)
RECIPE=$( { sha256sum <"${BASH_SOURCE[0]}"; (cd "$here/kube-node" && sha256sum ./*); echo "$base_id $(basename "$kube")"; } | sha256sum | cut -c1-16)
current() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL_KEY\"}}" "$1" 2>/dev/null)" = "$RECIPE" ]; }
if current "$NODE_TAG" && current "$PAUSE_TAG" && current "$PROVISIONER_TAG"; then
  log "up to date: $NODE_TAG, $PAUSE_TAG, $PROVISIONER_TAG ($(elapsed))"
  exit 0
fi
hold_lock kube-node-image

# One static binary as an image of its own (imported images have no config: give them their entrypoint).
one_file_image() { # tag binary entrypoint-json
  local work
  work=$(mktemp -d)
  mkdir -p "$work/root/etc" && cp "$2" "$work/root/" && printf 'root:x:0:0:root:/:/sbin/nologin\n' >"$work/root/etc/passwd"
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$work/root" -c . |
    docker import -m "dind-provisioner $1 ($RECIPE)" -c "ENTRYPOINT $3" -c "LABEL $LABEL_KEY=$RECIPE" - "$1" >/dev/null || die "docker import $1 failed"
  rm -rf "$work"
}
current "$PAUSE_TAG" || one_file_image "$PAUSE_TAG" "$kube/pause" '["/pause"]'
current "$PROVISIONER_TAG" || one_file_image "$PROVISIONER_TAG" "$kube/local-path-provisioner" '["/local-path-provisioner"]'

if ! current "$NODE_TAG"; then
  log "building $NODE_TAG from $BASE + $PACKAGES + Kubernetes"
  previous=$(docker image inspect -f '{{.Id}}' "$NODE_TAG" 2>/dev/null || true)
  builder="dind-provisioner-kube-node-build-$$"
  # -v: the dind image's /var/lib/docker volume goes with the builder.
  trap 'docker rm -f -v "$builder" >/dev/null 2>&1 || true' EXIT
  docker run --name "$builder" --entrypoint sh -e DEBIAN_FRONTEND=noninteractive \
    -v "$kube:/kube:ro" -v "$here/kube-node:/kube-node:ro" "$BASE" -c '
    set -e
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $0 >/dev/null
    rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
    for program in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do install -m 0755 /kube/$program /usr/local/bin/; done
    install -m 0755 /kube-node/entrypoint.sh /usr/local/bin/kube-node-entrypoint
    install -m 0755 /kube-node/kube-net.sh /usr/local/bin/kube-net
    command -v containerd runc etcd conntrack ip curl jq >/dev/null
    test -x /usr/lib/cni/bridge && test -x /usr/lib/cni/portmap && test -x /usr/lib/cni/host-local
  ' "$PACKAGES" >&2 || die "building the node image failed"
  docker commit -m "dind-provisioner kube node ($RECIPE)" \
    -c "LABEL $LABEL_KEY=$RECIPE" -c 'ENTRYPOINT ["/usr/local/bin/kube-node-entrypoint"]' -c 'CMD ["node"]' \
    -c 'VOLUME /var' \
    "$builder" "$NODE_TAG" >/dev/null || die "docker commit failed"
  if [ -n "$previous" ]; then docker image rm "$previous" >/dev/null 2>&1 || true; fi
fi
log "ready: $NODE_TAG, $PAUSE_TAG, $PROVISIONER_TAG ($(elapsed))"
