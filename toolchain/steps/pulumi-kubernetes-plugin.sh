#!/usr/bin/env bash
# Builds and installs the Pulumi resource plugin `kubernetes` (pulumi-resource-kubernetes) that
# the npm SDK @pulumi/kubernetes drives, on a machine without get.pulumi.com or GitHub.
#
# Unlike docker and tls, the official provider module is on the Go module proxy (only at the
# pseudo-version toolchain/modules/pulumi-resource-kubernetes/go.mod requires, with its SDK replace
# resolved there), so this builds pulumi-kubernetes itself: stamp the plugin version into the
# upstream schema.json (what the upstream's `go generate` does), embed it, `go build`.
# The version is read from node_modules/@pulumi/kubernetes/package.json (pulumi.version).
#
# Installs where the engine looks, with the engine's own protocol (flock on <dir>.lock,
# <dir>.partial while writing):
#   ${PULUMI_HOME:-~/.pulumi}/plugins/resource-kubernetes-v<version>/pulumi-resource-kubernetes
# The binary is cached under $DP_CACHE/pulumi-resource-kubernetes/<key>/ (key: the tool module,
# this script, the version); its Go build cache is $DP_CACHE/go-build-kubernetes-plugin.
#
# Usage: toolchain/steps/pulumi-kubernetes-plugin.sh [--print-path]
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=pulumi-kubernetes-plugin
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
print_path_args "$@"

TOOL="$DP_ROOT/toolchain/modules/pulumi-resource-kubernetes"
SDK_JSON="$DP_ROOT/node_modules/@pulumi/kubernetes/package.json"
[ -f "$SDK_JSON" ] || die "missing $SDK_JSON: run npm ci first"
VERSION=$(node -p 'require(process.argv[1]).pulumi.version' "$SDK_JSON")
KEY=$(tool_key "$TOOL" "$VERSION")
ARTIFACT="$DP_CACHE/pulumi-resource-kubernetes/$KEY"
if [ -n "${PULUMI_HOME:-}" ]; then PULUMI_DIR="$PULUMI_HOME"; else
  # The engine takes the home directory from the user database, not from $HOME.
  PULUMI_DIR="$(getent passwd "$(id -u)" | cut -d: -f6)/.pulumi"
fi
PLUGIN_DIR="$PULUMI_DIR/plugins/resource-kubernetes-v$VERSION"
PLUGIN_BIN="$PLUGIN_DIR/pulumi-resource-kubernetes"

installed() { [ -x "$PLUGIN_BIN" ] && [ ! -e "$PLUGIN_DIR.partial" ] && cmp -s "$PLUGIN_BIN" "$ARTIFACT/pulumi-resource-kubernetes"; }
finish() { if [ "$print_path" = 1 ]; then printf '%s\n' "$PLUGIN_BIN"; fi; exit 0; }
if [ -f "$ARTIFACT/.complete" ] && installed; then log "up to date: $PLUGIN_BIN"; finish; fi

hold_lock pulumi-kubernetes-plugin
if [ ! -f "$ARTIFACT/.complete" ]; then
  find_go "the kubernetes plugin"
  export GOCACHE="$DP_CACHE/go-build-kubernetes-plugin" GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=0
  t0=$EPOCHREALTIME
  upstream_version=$(sed -n "s|^\(require\)\{0,1\}[[:space:]]*$PROVIDER_MODULE \(v[^ ]*\).*|\2|p" "$TOOL/go.mod")
  upstream=$(cd "$TOOL" && GOFLAGS= "$GO_BIN" mod download -json "$PROVIDER_MODULE@$upstream_version" | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}process.stdout.write(j.Dir)})') ||
    die "go mod download $PROVIDER_MODULE@$upstream_version failed"
  build="$DP_CACHE/build/pulumi-resource-kubernetes"
  rm -rf "$build" && mkdir -p "$build" && cp -R "$TOOL" "$build/mod"
  cmd="$build/mod/cmd/pulumi-resource-kubernetes"
  # The upstream generate.go's step: the schema carries the plugin version; both files compact.
  node -e '
    const fs = require("fs"); const [src, dst, version] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(`${src}/schema.json`, "utf8")); schema.version = version;
    fs.writeFileSync(`${dst}/schema-embed.json`, JSON.stringify(schema));
    fs.writeFileSync(`${dst}/terraform-mapping-embed.json`, JSON.stringify(JSON.parse(fs.readFileSync(`${src}/terraform-mapping.json`, "utf8"))));
  ' "$upstream/cmd/pulumi-resource-kubernetes" "$cmd" "$VERSION"
  log "building pulumi-resource-kubernetes v$VERSION from $PROVIDER_MODULE@$upstream_version (cold: many minutes on 2 cores)"
  mkdir -p "$ARTIFACT.tmp"
  if ! (cd "$build/mod" && "$GO_BIN" build -trimpath \
    -ldflags "-s -w -X $PROVIDER_MODULE/pkg/version.Version=$VERSION" \
    -o "$ARTIFACT.tmp/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes) >"$build/build.log" 2>&1; then
    tail -n 30 "$build/build.log" >&2
    die "go build failed (log: $build/build.log)"
  fi
  echo "built=$(date -u +%FT%TZ) seconds=$(since "$t0")" >"$ARTIFACT.tmp/.complete"
  rm -rf "$ARTIFACT" && mv "$ARTIFACT.tmp" "$ARTIFACT" && rm -rf "$build"
  find "$DP_CACHE/pulumi-resource-kubernetes" -mindepth 1 -maxdepth 1 ! -name "$KEY" -exec rm -rf {} +
  log "built in $(since "$t0")"
fi
if ! installed; then
  mkdir -p "$(dirname "$PLUGIN_DIR")"
  (
    exec 8>"$PLUGIN_DIR.lock"
    flock 8
    : >"$PLUGIN_DIR.partial"
    rm -rf "$PLUGIN_DIR" && mkdir -p "$PLUGIN_DIR"
    cp "$ARTIFACT/pulumi-resource-kubernetes" "$PLUGIN_BIN.tmp" && chmod 0755 "$PLUGIN_BIN.tmp" && mv -f "$PLUGIN_BIN.tmp" "$PLUGIN_BIN"
    rm -f "$PLUGIN_DIR.partial"
  )
  installed || die "could not install $PLUGIN_BIN"
  log "installed $PLUGIN_BIN"
fi
finish
