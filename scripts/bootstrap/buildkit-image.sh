#!/usr/bin/env bash
# Provide dind-provisioner/buildkit:local, the image of a restricted DooD client's own BuildKit
# builder (components/DoodBuilder.ts): buildkitd v0.34.2 and its entrypoint buildkitd-userns,
# built from the Go module proxy (tools/buildkit), and Debian bookworm's runc with the libraries
# it links against and the CA bundle, extracted with `apt-get download` + `dpkg-deb -x` (no
# debootstrap, no registry).
#
# The image carries LABEL dind-provisioner.recipe=<key of this script, tools/buildkit and the
# machine>; an image with the right label is left alone (warm run: one `docker image inspect`).
# The binaries are cached in $DP_CACHE/buildkit/<key>/ (Go build cache $DP_CACHE/go-build-buildkit),
# the root filesystem as a tarball under $DP_CACHE/images/. Cold times: README, "Offline toolchain".
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=buildkit-image
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TAG=dind-provisioner/buildkit:local
LABEL_KEY=dind-provisioner.recipe
MODULE="$DP_ROOT/tools/buildkit"
RECIPE="$(tool_key "$MODULE")"
IMG_CACHE="$DP_CACHE/images"
BIN="$DP_CACHE/buildkit/$RECIPE"
PACKAGES=(runc libseccomp2 libc6 ca-certificates)

current() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL_KEY\"}}" "$TAG" 2>/dev/null)" = "$RECIPE" ]; }

docker version >/dev/null 2>&1 || die "no Docker engine answers: run scripts/bootstrap/engine.sh first"
if current; then
  log "$TAG up to date ($(elapsed))"
  exit 0
fi
hold_lock buildkit-image # a concurrent run may have built it meanwhile
if current; then log "$TAG up to date ($(elapsed))"; exit 0; fi

if [ ! -f "$BIN/.complete" ]; then
  find_go buildkitd
  version=$(awk '$1 == "github.com/moby/buildkit" { print $2; exit }' "$MODULE/go.mod")
  [ -n "$version" ] || die "$MODULE/go.mod does not require github.com/moby/buildkit"
  log "building buildkitd $version and buildkitd-userns from the Go module proxy (cold: minutes on 2 cores)"
  t0=$EPOCHREALTIME
  rm -rf "$BIN.tmp" && mkdir -p "$BIN.tmp"
  build() { # output package [ldflags]
    (cd "$MODULE" && GOCACHE="$DP_CACHE/go-build-buildkit" GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false" GOWORK=off \
      CGO_ENABLED=0 "$GO_BIN" build -trimpath -tags "osusergo netgo static_build" -ldflags "-s -w ${3:-}" -o "$BIN.tmp/$1" "$2") \
      >>"$BIN.tmp/build.log" 2>&1 || { tail -n 30 "$BIN.tmp/build.log" >&2; die "go build of $1 failed (log: $BIN.tmp/build.log)"; }
  }
  build buildkitd github.com/moby/buildkit/cmd/buildkitd "-X github.com/moby/buildkit/version.Version=$version"
  build buildkitd-userns ./cmd/buildkitd-userns
  "$BIN.tmp/buildkitd" --version | grep -q " $version " || die "the built buildkitd does not report $version"
  echo "version=$version built=$(date -u +%FT%TZ) seconds=$(since "$t0")" >"$BIN.tmp/.complete"
  rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
  find "$DP_CACHE/buildkit" -mindepth 1 -maxdepth 1 ! -name "$RECIPE" -exec rm -rf {} +
  log "built buildkitd $version in $(since "$t0")"
fi

tarball="$IMG_CACHE/buildkit-rootfs-$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16).tar"
mkdir -p "$IMG_CACHE"
if [ ! -s "$tarball" ]; then
  { [ "$(id -u)" = 0 ] && have apt-get; } || die "building $TAG needs Debian's apt as root"
  work="$(mktemp -d "$IMG_CACHE/tmp.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "extracting Debian's ${PACKAGES[*]}"
  if ! (cd "$work" && apt-get download -o APT::Sandbox::User=root "${PACKAGES[@]}" >"$work/apt.log" 2>&1); then
    log "apt-get download failed; apt-get update, then once more"
    apt-get update >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; die "apt-get update failed"; }
    (cd "$work" && apt-get download -o APT::Sandbox::User=root "${PACKAGES[@]}" >"$work/apt.log" 2>&1) ||
      { tail -n 20 "$work/apt.log" >&2; die "apt-get download ${PACKAGES[*]} failed"; }
  fi
  root="$work/root"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$root"; done
  [ -x "$root/usr/sbin/runc" ] || die "runc has no /usr/sbin/runc"
  # What update-ca-certificates would make: one bundle of Debian's CAs.
  mkdir -p "$root/etc/ssl/certs" "$root/etc/buildkit" "$root/var/lib/buildkit" "$root/run/buildkit" "$root/tmp"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "${root:?}/usr/share/doc" "${root:?}/usr/share/man" "${root:?}/usr/share/locale" "${root:?}/usr/share/zoneinfo" \
    "${root:?}/usr/share/lintian" "${root:?}/usr/share/ca-certificates" "${root:?}/usr/sbin/update-ca-certificates" "${root:?}/etc/init.d"
  chmod 1777 "$root/tmp"
  # Debian's usrmerge layout: the dynamic loader is looked up at /lib64.
  [ -e "$root/lib64" ] || ln -s usr/lib64 "$root/lib64"
  chroot "$root" /usr/sbin/runc --version >/dev/null || die "the extracted runc does not run"
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$root" -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
fi

work="$(mktemp -d "$IMG_CACHE/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/usr/local/bin"
cp "$BIN/buildkitd" "$BIN/buildkitd-userns" "$work/usr/local/bin/"
cp "$tarball" "$work/image.tar"
tar --numeric-owner --owner=0 --group=0 -C "$work" -rf "$work/image.tar" ./usr/local/bin
docker import -m "dind-provisioner buildkit ($RECIPE)" \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENTRYPOINT ["/usr/local/bin/buildkitd-userns"]' -c 'CMD ["--oci-worker-no-process-sandbox"]' \
  -c 'VOLUME ["/var/lib/buildkit"]' -c "LABEL $LABEL_KEY=$RECIPE" \
  "$work/image.tar" "$TAG" >/dev/null || die "docker import $TAG failed"
log "imported $TAG ($(elapsed))"
