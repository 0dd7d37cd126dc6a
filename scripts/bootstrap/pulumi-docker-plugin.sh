#!/usr/bin/env bash
# Builds and installs the Pulumi resource plugin `docker` (pulumi-resource-docker) that the
# npm SDK @pulumi/docker drives, on a machine without get.pulumi.com or GitHub.
#
# The official provider module (github.com/pulumi/pulumi-docker/provider/v4, /v5) is refused
# by the Go module proxy, so this builds the nearest real thing: the Terraform upstream
# kreuzwerker/terraform-provider-docker (from the Go module proxy) served through
# pulumi-terraform-bridge, with the names and tokens of @pulumi/docker (ProviderInfo in
# tools/pulumi-resource-docker/resources.go). Not provided: pulumi-docker's native buildx
# resource docker.Image (docker:index/image:Image).
#
# Steps (cold): fetch + unpack the upstream zip, copy tools/pulumi-resource-docker/shim into
# it; copy Pulumi's fork of terraform-plugin-sdk/v2 and add tools/pulumi-resource-docker/sdkpatch;
# build the tfgen binary; generate the schema; check it against the SDK's TypeScript
# declarations (tools/pulumi-resource-docker/checker/check-schema.js); build the plugin with
# that schema embedded; install it where the engine looks for it:
#   ${PULUMI_HOME:-~/.pulumi}/plugins/resource-docker-v<version>/pulumi-resource-docker
# using the engine's own install protocol (flock on <dir>.lock, <dir>.partial while writing).
#
# Everything built lives outside the repo, under
#   ${DIND_PROVISIONER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner}
# (src/, build/, go-build-docker-plugin/, pulumi-resource-docker/<key>/); Go modules go to the usual Go
# module cache. The plugin is cached by a key over tools/pulumi-resource-docker, this
# script, the upstream version and the SDK's package.json/.d.ts files; a warm run only
# checks that key and the installed copy.
#
# The plugin version is read on every run from node_modules/@pulumi/docker/package.json
# (field pulumi.version).
#
# Usage: scripts/bootstrap/pulumi-docker-plugin.sh [--force] [--print-path]
#   --force       rebuild and reinstall even if up to date (also replaces a plugin that
#                 this script did not install)
#   --print-path  print the installed plugin binary's path on stdout when done
set -euo pipefail

readonly UPSTREAM_MODULE=github.com/kreuzwerker/terraform-provider-docker
readonly UPSTREAM_VERSION=v0.0.0-20260916201441-96d331c98ff4
# sha256 of the proxy's zip (sum.golang.org h1: T3HvvZCRd4h2qkMl+SXA2zza26Rdz8xqV81skikQWy4=).
readonly UPSTREAM_ZIP_SHA256=04f3b3ed3896795d6483e57d41e41fe4544f75e35d3a2832a82efcd2114ae23b
# Pulumi's fork of the SDKv2, as pinned by pulumi-terraform-bridge v3.120.0's go.mod.
readonly SDK_FORK_MODULE=github.com/pulumi/terraform-plugin-sdk/v2
readonly SDK_FORK_VERSION=v2.0.0-20250923233607-7f1981c8674a
# The @pulumi/docker version whose names/tokens ProviderInfo was verified against
# (dockerbridge.SDKVerifiedVersion in tools/pulumi-resource-docker/resources.go).
readonly VERIFIED_SDK_VERSION=5.2.0
readonly PLUGIN_NAME=docker
readonly BUILD_TAGS=no_compose # docker_compose is a plugin-framework resource; not bridged

log() { printf 'pulumi-docker-plugin: %s\n' "$*" >&2; }
die() { printf 'pulumi-docker-plugin: ERROR: %s\n' "$*" >&2; exit 1; }

force=0
print_path=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        --print-path) print_path=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

SCRIPT_PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)
TOOL="$ROOT/tools/pulumi-resource-docker"
SDK_DIR="$ROOT/node_modules/@pulumi/docker"
CACHE="${DIND_PROVISIONER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner}"

[ -f "$TOOL/go.mod" ] || die "missing $TOOL/go.mod"
[ -f "$SDK_DIR/package.json" ] || die "missing $SDK_DIR/package.json: install the npm dependencies first (npm ci)"
command -v node >/dev/null 2>&1 || die "node is required (to read $SDK_DIR/package.json and to run the schema checker)"

# --- plugin version, from the SDK's package.json, every run --------------------------------
PLUGIN_VERSION=$(node -e '
const p = require(process.argv[1]);
if (!p.pulumi || p.pulumi.name !== "docker" || !p.pulumi.version) { process.exit(3); }
process.stdout.write(String(p.pulumi.version).replace(/^v/, ""));
' "$SDK_DIR/package.json") || die "$SDK_DIR/package.json has no pulumi.name=docker / pulumi.version"
[[ "$PLUGIN_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] ||
    die "unexpected plugin version '$PLUGIN_VERSION' in $SDK_DIR/package.json"
if [ "$PLUGIN_VERSION" != "$VERIFIED_SDK_VERSION" ]; then
    log "WARNING: @pulumi/docker asks for plugin $PLUGIN_VERSION, but the bridged names/tokens were verified against $VERIFIED_SDK_VERSION; building it as $PLUGIN_VERSION anyway (the schema check below still runs against the installed SDK)"
fi

# --- where the engine looks (sdk/go/common/workspace: PULUMI_HOME, else <user home>/.pulumi) -
if [ -n "${PULUMI_HOME:-}" ]; then
    PULUMI_DIR="$PULUMI_HOME"
else
    # The engine takes the home directory from the user database (os/user), not from $HOME.
    user_home=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6 || true)
    PULUMI_DIR="${user_home:-$HOME}/.pulumi"
fi
PLUGIN_DIR="$PULUMI_DIR/plugins/resource-$PLUGIN_NAME-v$PLUGIN_VERSION"
PLUGIN_BIN="$PLUGIN_DIR/pulumi-resource-$PLUGIN_NAME"
STAMP_FILE="$PLUGIN_DIR/.dind-provisioner-build"

# --- cache key --------------------------------------------------------------------------
sdk_inputs=()
for f in package.json container.d.ts network.d.ts volume.d.ts remoteImage.d.ts provider.d.ts types/input.d.ts; do
    [ -f "$SDK_DIR/$f" ] && sdk_inputs+=("$SDK_DIR/$f")
done
KEY=$(
    {
        printf '%s\n' "$UPSTREAM_MODULE@$UPSTREAM_VERSION" "$SDK_FORK_MODULE@$SDK_FORK_VERSION" \
            "plugin=$PLUGIN_VERSION" "tags=$BUILD_TAGS" "$(uname -s)/$(uname -m)"
        sha256sum "$SCRIPT_PATH" | cut -d' ' -f1
        (cd "$TOOL" && find . -type f ! -name '*.swp' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        for f in "${sdk_inputs[@]}"; do sha256sum <"$f"; done
    } | sha256sum | cut -c1-16
)
ARTIFACT_ROOT="$CACHE/pulumi-resource-docker"
ARTIFACT="$ARTIFACT_ROOT/$KEY"

plugin_installed_ok() {
    [ -x "$PLUGIN_BIN" ] && [ ! -e "$PLUGIN_DIR.partial" ] && [ -f "$STAMP_FILE" ] &&
        [ "$(cat "$STAMP_FILE")" = "$KEY" ] && cmp -s "$PLUGIN_BIN" "$ARTIFACT/pulumi-resource-$PLUGIN_NAME"
}

finish() {
    if [ "$print_path" = 1 ]; then printf '%s\n' "$PLUGIN_BIN"; fi
    exit 0
}

# --- warm path: checks only ---------------------------------------------------------------
if [ "$force" = 0 ] && [ -e "$PLUGIN_DIR" ] && [ ! -e "$PLUGIN_DIR.partial" ] && [ ! -f "$STAMP_FILE" ]; then
    # Installed by someone else (e.g. `pulumi plugin install` on a machine with internet).
    log "plugin $PLUGIN_NAME v$PLUGIN_VERSION already installed at $PLUGIN_DIR (not by this script); leaving it (use --force to replace it)"
    finish
fi
if [ "$force" = 0 ] && [ -f "$ARTIFACT/.complete" ] && plugin_installed_ok; then
    log "up to date: $PLUGIN_BIN (build $KEY)"
    finish
fi

# --- from here on: build and/or install, one run at a time ---------------------------------------
mkdir -p "$CACHE/locks"
exec 9>"$CACHE/locks/pulumi-docker-plugin.lock"
if ! flock -n 9; then
    log "another run holds $CACHE/locks/pulumi-docker-plugin.lock; waiting"
    flock 9
fi

install_plugin() {
    local src="$ARTIFACT/pulumi-resource-$PLUGIN_NAME"
    log "installing into $PLUGIN_DIR"
    mkdir -p "$(dirname "$PLUGIN_DIR")"
    # Same protocol as the engine (pkg/v3/pluginstorage/download.go UnpackContents): hold an
    # flock on <dir>.lock; <dir>.partial exists while the directory is incomplete.
    (
        exec 8>"$PLUGIN_DIR.lock"
        flock 8
        : >"$PLUGIN_DIR.partial"
        rm -rf "$PLUGIN_DIR"
        mkdir -p "$PLUGIN_DIR"
        cp "$src" "$PLUGIN_BIN.tmp"
        chmod 0755 "$PLUGIN_BIN.tmp"
        mv -f "$PLUGIN_BIN.tmp" "$PLUGIN_BIN"
        printf '%s\n' "$KEY" >"$STAMP_FILE"
        rm -f "$PLUGIN_DIR.partial"
    ) || die "could not install into $PLUGIN_DIR"
    plugin_installed_ok || die "installed plugin at $PLUGIN_BIN does not match build $KEY"
    log "installed $PLUGIN_BIN (plugin $PLUGIN_NAME v$PLUGIN_VERSION, build $KEY)"
}

if [ "$force" = 0 ] && [ -f "$ARTIFACT/.complete" ]; then
    install_plugin
    finish
fi

# ============================== cold path: build =========================================
start=$SECONDS
GO_BIN=$(command -v go || true)
[ -n "$GO_BIN" ] || { [ -x /usr/local/go/bin/go ] && GO_BIN=/usr/local/go/bin/go; } ||
    die "Go is required to build the plugin (not on PATH, not at /usr/local/go/bin/go)"
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v unzip >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 || die "unzip (or python3) is required"

# Go settings for every go command below. Modules go to the usual module cache (shared with
# other builds); the build cache is ours. go.sum is authoritative (-mod=readonly).
export GOCACHE="$CACHE/go-build-docker-plugin"
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
export CGO_ENABLED="${CGO_ENABLED:-0}"
log "building plugin $PLUGIN_NAME v$PLUGIN_VERSION (build $KEY) with $("$GO_BIN" version | cut -d' ' -f3-)"

# --- 1. the Terraform upstream, from the Go module proxy, + shim ------------------------------
proxy=$("$GO_BIN" env GOPROXY)
proxy=${proxy%%[,|]*}
case "$proxy" in
    ""|direct|off) die "GOPROXY's first entry is '$proxy': a module proxy is needed to fetch $UPSTREAM_MODULE" ;;
esac
proxy=${proxy%/}
UPSTREAM_SRC="$CACHE/src/terraform-provider-docker@$UPSTREAM_VERSION"
if [ ! -f "$UPSTREAM_SRC/.unpacked" ]; then
    log "fetching $UPSTREAM_MODULE@$UPSTREAM_VERSION from $proxy"
    mkdir -p "$CACHE/src"
    tmp=$(mktemp -d "$CACHE/src/.upstream.XXXXXX")
    url="$proxy/$UPSTREAM_MODULE/@v/$UPSTREAM_VERSION.zip"
    curl -fsSL --retry 3 -o "$tmp/upstream.zip" "$url" || { rm -rf "$tmp"; die "download failed: $url"; }
    got=$(sha256sum "$tmp/upstream.zip" | cut -d' ' -f1)
    [ "$got" = "$UPSTREAM_ZIP_SHA256" ] || { rm -rf "$tmp"; die "sha256 mismatch for $url: got $got, want $UPSTREAM_ZIP_SHA256"; }
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "$tmp/upstream.zip" -d "$tmp/x"
    else
        python3 -m zipfile -e "$tmp/upstream.zip" "$tmp/x"
    fi
    inner="$tmp/x/$UPSTREAM_MODULE@$UPSTREAM_VERSION"
    [ -f "$inner/go.mod" ] || { rm -rf "$tmp"; die "unexpected zip layout (no $UPSTREAM_MODULE@$UPSTREAM_VERSION/go.mod)"; }
    chmod -R u+w "$inner"
    rm -rf "$UPSTREAM_SRC"
    mv "$inner" "$UPSTREAM_SRC"
    rm -rf "$tmp"
    touch "$UPSTREAM_SRC/.unpacked"
fi
grep -q '^module github.com/terraform-providers/terraform-provider-docker$' "$UPSTREAM_SRC/go.mod" ||
    die "$UPSTREAM_SRC/go.mod does not declare module github.com/terraform-providers/terraform-provider-docker"
rm -rf "$UPSTREAM_SRC/shim"
mkdir -p "$UPSTREAM_SRC/shim"
cp "$TOOL"/shim/*.go "$UPSTREAM_SRC/shim/"

# --- 2. Pulumi's SDKv2 fork, + sdkpatch ---------------------------------------------------
FORK_SRC="$CACHE/src/terraform-plugin-sdk-v2@$SDK_FORK_VERSION"
if [ ! -f "$FORK_SRC/.copied" ]; then
    log "fetching $SDK_FORK_MODULE@$SDK_FORK_VERSION"
    fork_dir=$(cd "$CACHE" && GOFLAGS='' "$GO_BIN" mod download -json "$SDK_FORK_MODULE@$SDK_FORK_VERSION" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}process.stdout.write(j.Dir)})') ||
        die "go mod download $SDK_FORK_MODULE@$SDK_FORK_VERSION failed"
    rm -rf "$FORK_SRC" "$FORK_SRC.tmp"
    cp -R "$fork_dir" "$FORK_SRC.tmp"
    chmod -R u+w "$FORK_SRC.tmp"
    mv "$FORK_SRC.tmp" "$FORK_SRC"
    touch "$FORK_SRC/.copied"
fi
(cd "$TOOL/sdkpatch" && find . -name '*.go' -print) | while read -r rel; do
    cp "$TOOL/sdkpatch/$rel" "$FORK_SRC/$rel"
done

# --- 3. build copy of the module: <build>/{mod,upstream,plugin-sdk} ---------------------------
BUILD="$CACHE/build/pulumi-resource-docker"
mkdir -p "$BUILD"
rm -rf "$BUILD/mod" "$BUILD/out"
mkdir -p "$BUILD/out"
cp -R "$TOOL" "$BUILD/mod"
ln -sfn "$UPSTREAM_SRC" "$BUILD/upstream"
ln -sfn "$FORK_SRC" "$BUILD/plugin-sdk"
# The plugin embeds schema.json; a placeholder lets the module load before tfgen has run.
printf '{}\n' >"$BUILD/mod/cmd/pulumi-resource-docker/schema.json"
LDFLAGS="-s -w -X main.version=$PLUGIN_VERSION -X dind-provisioner/tools/pulumi-resource-docker.UpstreamVersion=$UPSTREAM_VERSION"

go_build() { # <log name> <output> <package>
    local name=$1 out=$2 pkg=$3
    if ! (cd "$BUILD/mod" && "$GO_BIN" build -tags "$BUILD_TAGS" -trimpath -ldflags "$LDFLAGS" -o "$out" "$pkg") \
        >"$BUILD/out/$name.log" 2>&1; then
        tail -n 30 "$BUILD/out/$name.log" >&2
        if grep -q 'go: updates to go.mod needed\|missing go.sum entry' "$BUILD/out/$name.log"; then
            log "hint: go.mod/go.sum of tools/pulumi-resource-docker are stale; run 'go mod tidy' in $BUILD/mod and copy go.mod/go.sum back"
        fi
        die "go build $pkg failed (full log: $BUILD/out/$name.log)"
    fi
}

# --- 4. tfgen -> schema -> check ------------------------------------------------------------------
log "building pulumi-tfgen-docker (a cold build takes several minutes on 2 cores)"
go_build tfgen-build "$BUILD/out/pulumi-tfgen-docker" ./cmd/pulumi-tfgen-docker
log "generating the schema"
mkdir -p "$BUILD/out/schema"
# --skip-examples: turning the upstream's HCL examples into docs needs the pulumi CLI.
if ! (cd "$BUILD/mod" && DOCKER_TF_UPSTREAM_DIR="$UPSTREAM_SRC" \
    "$BUILD/out/pulumi-tfgen-docker" schema --skip-examples --out "$BUILD/out/schema") >"$BUILD/out/tfgen.log" 2>&1; then
    grep -v '^\s' "$BUILD/out/tfgen.log" | tail -n 30 >&2
    die "tfgen failed (full log: $BUILD/out/tfgen.log)"
fi
rm -f "$BUILD/out/pulumi-tfgen-docker" # 130 MB, only needed for the step above
SCHEMA="$BUILD/out/schema/schema.json"
[ -s "$SCHEMA" ] || die "tfgen wrote no $SCHEMA"
log "checking the schema against $SDK_DIR"
if ! node "$TOOL/checker/check-schema.js" --schema "$SCHEMA" --sdk "$SDK_DIR" --quiet >"$BUILD/out/check.log" 2>&1; then
    cat "$BUILD/out/check.log" >&2
    die "the generated schema does not match @pulumi/docker $PLUGIN_VERSION: add field overrides in tools/pulumi-resource-docker/resources.go"
fi
sed 's/^/  /' "$BUILD/out/check.log" >&2

# --- 5. the plugin, schema embedded ------------------------------------------------------------
log "building pulumi-resource-docker"
cp "$SCHEMA" "$BUILD/mod/cmd/pulumi-resource-docker/schema.json"
go_build plugin-build "$BUILD/out/pulumi-resource-$PLUGIN_NAME" ./cmd/pulumi-resource-docker
got_version=$("$BUILD/out/pulumi-resource-$PLUGIN_NAME" -version 2>/dev/null) || die "built plugin does not run"
[ "$got_version" = "$PLUGIN_VERSION" ] || die "built plugin reports version '$got_version', want $PLUGIN_VERSION"

# --- 6. publish the artifact atomically, drop older ones -----------------------------------------
mkdir -p "$ARTIFACT_ROOT"
rm -rf "$ARTIFACT.tmp"
mkdir -p "$ARTIFACT.tmp"
cp "$BUILD/out/pulumi-resource-$PLUGIN_NAME" "$SCHEMA" "$BUILD/out/check.log" "$ARTIFACT.tmp/"
printf 'plugin=%s upstream=%s@%s sdk-fork=%s@%s built=%s\n' "$PLUGIN_VERSION" "$UPSTREAM_MODULE" \
    "$UPSTREAM_VERSION" "$SDK_FORK_MODULE" "$SDK_FORK_VERSION" "$(date -u +%FT%TZ)" >"$ARTIFACT.tmp/.complete"
rm -rf "$ARTIFACT"
mv "$ARTIFACT.tmp" "$ARTIFACT"
rm -f "$BUILD/out/pulumi-resource-$PLUGIN_NAME" # the artifact holds it
for old in "$ARTIFACT_ROOT"/*; do
    [ "$old" = "$ARTIFACT" ] || rm -rf "$old"
done
log "built in $((SECONDS - start)) s: $ARTIFACT"

install_plugin
finish
