#!/usr/bin/env bash
# Provides dind-provisioner/remote-daemon:local, the image the remote-daemon tests run their
# "remote machines" from: dind-provisioner/dind:local (dockerd and the docker CLI, which the
# ssh transport's `docker system dial-stdio` needs on the remote) plus Debian's openssh-server.
#
# Its entrypoint starts sshd when /etc/remote-daemon/authorized_keys is there (mounted by the
# test: key authentication for root only, fresh host keys per container, MaxStartups raised for
# the provider's many parallel connections), then hands its arguments to the dind entrypoint.
#
# Usage: remote-daemon-image.sh   (needs dind-provisioner/dind:local: run images.sh first)
#
# The image carries LABEL dind-provisioner.recipe=<hash of this script and the dind image id>;
# a current image is left alone (warm: two `docker image inspect`). Cold: apt-get installs
# openssh-server in a container of the dind image (Debian's archive is the one network source),
# then `docker commit`.
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=remote-daemon-image
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly TAG=dind-provisioner/remote-daemon:local BASE=dind-provisioner/dind:local LABEL_KEY=dind-provisioner.recipe
base_id=$(docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null) || die "$BASE is missing: run toolchain/steps/images.sh first"
RECIPE=$( { sha256sum <"${BASH_SOURCE[0]}"; echo "$base_id"; } | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL_KEY\"}}" "$TAG" 2>/dev/null)" = "$RECIPE" ]; then
  log "up to date: $TAG ($(elapsed))"
  exit 0
fi

log "building $TAG from $BASE + openssh-server"
previous=$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)
builder="dind-provisioner-remote-daemon-build-$$"
trap 'docker rm -f "$builder" >/dev/null 2>&1 || true' EXIT
entrypoint='#!/bin/sh
# remote-daemon entrypoint: sshd (key authentication, root only) when keys are mounted, then dockerd.
set -eu
if [ -f /etc/remote-daemon/authorized_keys ]; then
  install -d -m 0700 /root/.ssh
  install -m 0600 /etc/remote-daemon/authorized_keys /root/.ssh/authorized_keys
  ssh-keygen -A >/dev/null
  mkdir -p /run/sshd
  # The docker provider opens an ssh connection per operation, many at once: above sshd'"'"'s default
  # MaxStartups (10 unauthenticated connections) it drops some at random.
  /usr/sbin/sshd -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o PermitRootLogin=prohibit-password \
    -o MaxStartups=200:30:400
fi
exec /usr/local/bin/dockerd-entrypoint.sh "$@"'
docker run --name "$builder" --entrypoint sh -e DEBIAN_FRONTEND=noninteractive "$BASE" -c '
  set -e
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
  rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*
  printf "%s\n" "$1" >/usr/local/bin/remote-daemon-entrypoint.sh
  chmod 0755 /usr/local/bin/remote-daemon-entrypoint.sh
  command -v docker sshd
' sh "$entrypoint" >&2 || die "installing openssh-server failed"
docker commit -m "dind-provisioner remote daemon ($RECIPE)" \
  -c "LABEL $LABEL_KEY=$RECIPE" \
  -c 'ENTRYPOINT ["/usr/local/bin/remote-daemon-entrypoint.sh"]' -c 'CMD []' \
  "$builder" "$TAG" >/dev/null || die "docker commit failed"
# The image this one replaces, unless a container still uses it.
if [ -n "$previous" ]; then docker image rm "$previous" >/dev/null 2>&1 || true; fi
log "built $TAG ($(elapsed))"
