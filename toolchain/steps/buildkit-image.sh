#!/usr/bin/env bash
# Provide dind-provisioner/buildkit:local, the image of a restricted DooD client's own BuildKit
# builder (components/DoodBuilder.ts): buildkitd v0.34.2 and its entrypoint buildkitd-userns,
# built from the Go module proxy (toolchain/modules/buildkit), and Debian bookworm's runc with the libraries
# it links against and the CA bundle (common.sh's debian_root: no debootstrap, no registry).
#
# The image carries LABEL dind-provisioner.recipe=<key of this script, toolchain/modules/buildkit and the
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
MODULE="$DP_ROOT/toolchain/modules/buildkit"
RECIPE="$(tool_key "$MODULE")"
IMG_CACHE="$DP_CACHE/images"
BIN="$DP_CACHE/buildkit/$RECIPE"
PACKAGES=(runc libseccomp2 libc6)

current() { [ "$(docker image inspect -f "{{index .Config.Labels \"$LABEL_KEY\"}}" "$TAG" 2>/dev/null)" = "$RECIPE" ]; }

docker version >/dev/null 2>&1 || die "no Docker engine answers: run toolchain/steps/engine.sh first"
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

tarball="$IMG_CACHE/buildkit-rootfs-$(cat "${BASH_SOURCE[0]}" "$(dirname "${BASH_SOURCE[0]}")/common.sh" | sha256sum | cut -c1-16).tar"
mkdir -p "$IMG_CACHE"
if [ ! -s "$tarball" ]; then
  work="$(mktemp -d "$IMG_CACHE/tmp.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "extracting Debian's ${PACKAGES[*]}"
  debian_root "$work" "${PACKAGES[@]}"
  root="$work/root"
  [ -x "$root/usr/sbin/runc" ] || die "runc has no /usr/sbin/runc"
  mkdir -p "$root/etc/buildkit" "$root/var/lib/buildkit" "$root/run/buildkit"
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
