#!/usr/bin/env bash
# Provide dind-provisioner/registry:local, the Docker distribution registry, for the real lane
# (the official registry:2 cannot be pulled without a registry): Debian bookworm's
# docker-registry package (2.8.2) and the libc it links against, extracted onto an empty root
# with `apt-get download` + `dpkg-deb -x` (no debootstrap: about 10 s cold), plus Debian's CA
# bundle for a pull-through cache of an https remote. Same contract as registry:2: it serves
# /etc/docker/registry/config.yml on port 5000 and keeps its data in /var/lib/registry.
#
# The image carries LABEL dind-provisioner.recipe=<hash of this file>; an image with the right
# label is left alone (warm run: one `docker image inspect`). The root filesystem is cached as
# a tarball under $DP_CACHE/images/.
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=registry-image
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TAG=dind-provisioner/registry:local
LABEL_KEY=dind-provisioner.recipe
RECIPE="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
IMG_CACHE="$DP_CACHE/images"
PACKAGES=(docker-registry libc6)

current() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL_KEY\"}}" "$TAG" 2>/dev/null)" = "$RECIPE" ]; }

docker version >/dev/null 2>&1 || die "no Docker engine answers: run toolchain/steps/engine.sh first"
if current; then
  log "$TAG up to date ($(elapsed))"
  exit 0
fi

mkdir -p "$IMG_CACHE"
exec 9>"$IMG_CACHE/.registry.lock"
flock 9 # one builder at a time; a concurrent run may have built it meanwhile
if current; then log "$TAG up to date ($(elapsed))"; exit 0; fi

tarball="$IMG_CACHE/registry-rootfs-$RECIPE.tar"
if [ ! -s "$tarball" ]; then
  work="$(mktemp -d "$IMG_CACHE/tmp.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "building $TAG from Debian's ${PACKAGES[*]}"
  debian_root "$work" "${PACKAGES[@]}"
  root="$work/root"
  [ -x "$root/usr/bin/docker-registry" ] || die "docker-registry has no /usr/bin/docker-registry"
  mkdir -p "$root/var/lib/registry"
  ln -s docker-registry "$root/usr/bin/registry"
  chroot "$root" /usr/bin/docker-registry --version >/dev/null || die "the extracted docker-registry does not run"
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$root" -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
else
  log "using cached rootfs $tarball"
fi

docker import -m "dind-provisioner registry ($RECIPE)" \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENTRYPOINT ["/usr/bin/docker-registry", "serve"]' -c 'CMD ["/etc/docker/registry/config.yml"]' \
  -c 'EXPOSE 5000' -c 'VOLUME ["/var/lib/registry"]' -c "LABEL $LABEL_KEY=$RECIPE" \
  "$tarball" "$TAG" >/dev/null || die "docker import $TAG failed"
log "imported $TAG ($(elapsed))"
