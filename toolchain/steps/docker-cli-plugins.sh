#!/usr/bin/env bash
# Builds the docker CLI plugins the offline dind image carries, from the Go module proxy:
#   docker-buildx   github.com/docker/buildx, pinned in toolchain/modules/docker-buildx
#   docker-compose  github.com/docker/compose/v2, pinned in toolchain/modules/docker-compose
# Static (CGO_ENABLED=0), with the version strings upstream's release builds set by -ldflags, so
# `docker buildx version` and `docker compose version` print the real versions. Upstream also
# stamps buildx's git revision, which the module proxy does not carry: it stays empty.
#
# Usage: docker-cli-plugins.sh [--key | --print-path]
#   --key         print the plugins' cache key and exit, building nothing (images.sh's recipe)
#   --print-path  print the two binaries' paths, buildx's then compose's, one a line
#
# Each plugin is cached in $DP_CACHE/docker-cli-plugins/<name>/<key>/, keyed by its
# toolchain/modules/ module, this script and the machine; both share the Go build cache
# $DP_CACHE/go-build-docker-cli-plugins. Cold times: docs/toolchain.md. A warm run
# checks the keys only.
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=docker-cli-plugins
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Per plugin: the upstream module toolchain/modules/docker-<name>/go.mod pins, its main package,
# and the -ldflags of upstream's release build (VERSION stands for the pinned version).
readonly PLUGINS=(buildx compose)
readonly buildx_module=github.com/docker/buildx
readonly buildx_main=github.com/docker/buildx/cmd/buildx
readonly buildx_ldflags="-s -w -X $buildx_module/version.Version=VERSION -X $buildx_module/version.Package=$buildx_module"
readonly compose_module=github.com/docker/compose/v2
readonly compose_main=github.com/docker/compose/v2/cmd
readonly compose_ldflags="-w -X $compose_module/internal.Version=VERSION"

mode=build
case "${1:-}" in
  "") ;;
  --key) mode=key ;;
  --print-path) mode=print ;;
  *) die "unknown argument: $1 (expected --key or --print-path)" ;;
esac

tool_dir() { echo "$DP_ROOT/toolchain/modules/docker-$1"; }
key_of() { tool_key "$(tool_dir "$1")" "$1"; }
artifact() { echo "$DP_CACHE/docker-cli-plugins/$1/$(key_of "$1")"; }

if [ "$mode" = key ]; then
  for name in "${PLUGINS[@]}"; do key_of "$name"; done | sha256sum | cut -c1-16
  exit 0
fi

build() { # name
  local name=$1 dir out module main ldflags version t0 metadata
  dir=$(tool_dir "$name")
  out=$(artifact "$name")
  [ ! -f "$out/.complete" ] || return 0
  find_go "docker-$name"
  module=${name}_module main=${name}_main ldflags=${name}_ldflags
  module=${!module} main=${!main} ldflags=${!ldflags}
  version=$(awk -v m="$module" '$1 == m { print $2; exit }' "$dir/go.mod")
  [ -n "$version" ] || die "$dir/go.mod does not require $module"
  log "building docker-$name $version from the Go module proxy (cold: minutes on 2 cores)"
  t0=$EPOCHREALTIME
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  if ! (cd "$dir" && GOCACHE="$DP_CACHE/go-build-docker-cli-plugins" GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false" \
    GOWORK=off CGO_ENABLED=0 "$GO_BIN" build -trimpath -ldflags "${ldflags//VERSION/$version}" -o "$out.tmp/docker-$name" "$main") \
    >"$out.tmp/build.log" 2>&1; then
    tail -n 30 "$out.tmp/build.log" >&2
    die "go build of docker-$name failed (log: $out.tmp/build.log)"
  fi
  # The docker CLI reads a plugin's version from this metadata (docker info, docker version).
  # (Into a variable first: under pipefail, `| grep -q` can fail the pipeline with SIGPIPE.)
  metadata=$("$out.tmp/docker-$name" docker-cli-plugin-metadata) || die "the built docker-$name does not run"
  grep -q "\"Version\": *\"$version\"" <<<"$metadata" || die "the built docker-$name does not report $version: $metadata"
  echo "version=$version built=$(date -u +%FT%TZ) seconds=$(since "$t0")" >"$out.tmp/.complete"
  rm -rf "$out" && mv "$out.tmp" "$out"
  find "$DP_CACHE/docker-cli-plugins/$name" -mindepth 1 -maxdepth 1 ! -name "$(basename "$out")" -exec rm -rf {} +
  log "built docker-$name $version in $(since "$t0")"
}

missing=()
for name in "${PLUGINS[@]}"; do [ -f "$(artifact "$name")/.complete" ] || missing+=("$name"); done
if [ "${#missing[@]}" -gt 0 ]; then
  hold_lock docker-cli-plugins # a concurrent run may have built them meanwhile: build() checks again
  for name in "${missing[@]}"; do build "$name"; done
fi
if [ "$mode" = print ]; then
  for name in "${PLUGINS[@]}"; do echo "$(artifact "$name")/docker-$name"; done
fi
log "ready ($(elapsed))"
