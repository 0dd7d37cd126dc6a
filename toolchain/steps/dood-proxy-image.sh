#!/usr/bin/env bash
# Provide the DooD policy proxy's image, dind-provisioner/dood-proxy:local (dood-proxy).
#
# The image carries LABEL dind-provisioner.recipe=<hash of the proxy's sources and this
# script>; an image with the right label is left alone (warm run: one `docker image inspect`).
# Otherwise: with a Go toolchain (on PATH or /usr/local/go), build a static binary
# (CGO_ENABLED=0) and import it as a one-file image (what FROM scratch + COPY makes), which
# needs no registry; without one, build dood-proxy/Dockerfile (golang builder, then
# scratch), which needs a registry. Also tagged with the recipe; earlier recipes' tags are removed.
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=dood-proxy-image
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TAG=dind-provisioner/dood-proxy:local
SRC="$DP_ROOT/dood-proxy"
RECIPE="$(cat "${BASH_SOURCE[0]}" "$SRC/go.mod" "$SRC"/*.go "$SRC/Dockerfile" | sha256sum | cut -c1-16)"

docker version >/dev/null 2>&1 || die "no Docker engine answers: run toolchain/steps/engine.sh first"
if [ "$(docker image inspect -f '{{index .Config.Labels "dind-provisioner.recipe"}}' "$TAG" 2>/dev/null)" = "$RECIPE" ]; then
  log "image up to date: $TAG ($(elapsed))"
  exit 0
fi

go_bin="$(command -v go || true)"
[ -n "$go_bin" ] || [ ! -x /usr/local/go/bin/go ] || go_bin=/usr/local/go/bin/go
if [ -n "$go_bin" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "building the static proxy binary with $("$go_bin" version | cut -d' ' -f3)"
  (cd "$SRC" && CGO_ENABLED=0 "$go_bin" build -trimpath -ldflags="-s -w" -o "$work/dood-proxy" .)
  # An image of one file, as FROM scratch + COPY would make it, without a builder or registry.
  tar -C "$work" --owner=0 --group=0 -c dood-proxy |
    docker import -c 'ENTRYPOINT ["/dood-proxy"]' -c "LABEL dind-provisioner.recipe=$RECIPE" - "$TAG" >/dev/null
  docker tag "$TAG" "dind-provisioner/dood-proxy:$RECIPE"
else
  log "no Go toolchain: building $SRC/Dockerfile (needs the golang image from a registry)"
  docker build -q --label "dind-provisioner.recipe=$RECIPE" -t "$TAG" -t "dind-provisioner/dood-proxy:$RECIPE" "$SRC" >/dev/null
fi
# Earlier builds' tags go: only the current recipe's image is kept.
for tag in $(docker images dind-provisioner/dood-proxy --format '{{.Tag}}'); do
  [ "$tag" = local ] || [ "$tag" = "$RECIPE" ] || docker rmi "dind-provisioner/dood-proxy:$tag" >/dev/null 2>&1 || true
done
log "built $TAG ($RECIPE) in $(elapsed)"
