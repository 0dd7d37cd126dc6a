#!/usr/bin/env bash
# Builds and installs a Pulumi resource plugin `NAME` (pulumi-resource-NAME) that the npm SDK
# @pulumi/NAME drives, on a machine without get.pulumi.com or GitHub, by bridging the
# plugin's Terraform upstream (from the Go module proxy) with pulumi-terraform-bridge.
# The thin scripts pulumi-docker-plugin.sh and pulumi-tls-plugin.sh call this.
#
# The plugin's Go module and its description live in toolchain/modules/pulumi-resource-NAME/; bridge.conf
# there says: the SDK package and the version its names were verified against, the upstream
# module / version / zip sha256 / go.mod module path, BRIDGE=sdkv2|pf (SDKv2 or plugin
# framework; pf tfgen also writes bridge-metadata.json, which the plugin embeds),
# UPSTREAM_SHIM (copy ./shim into the upstream, to reach its internal/ constructor),
# SDK_FORK_PATCH (build against Pulumi's SDKv2 fork + toolchain/modules/pulumi-bridge-common/sdkpatch),
# UPSTREAM_PATCHES / PATCH_VERSION_SUFFIX / PATCH_TESTS (see Patches below), BUILD_TAGS, and
# what the schema checker compares strictly (CHECK_STRICT, CHECK_NOT_PROVIDED).
#
# Steps (cold): fetch + unpack the upstream zip; with patches, apply them to a copy of it; copy
# ./shim into it; copy Pulumi's fork of terraform-plugin-sdk/v2 and add the sdkpatch; with
# patches, run their tests; build the tfgen binary; generate the schema;
# check it against the SDK's TypeScript declarations (toolchain/modules/pulumi-bridge-common/check-schema.js:
# input and output properties and nested types); build the plugin with the schema embedded;
# install it where the engine looks for it:
#   ${PULUMI_HOME:-~/.pulumi}/plugins/resource-NAME-v<version>/pulumi-resource-NAME
# using the engine's own install protocol (flock on <dir>.lock, <dir>.partial while writing).
#
# Patches: UPSTREAM_PATCHES lists files under toolchain/modules/pulumi-resource-NAME/, each a
# change to the upstream's source that the project carries until the upstream takes it,
# written as `git format-patch` does (the message is the rationale, ready to send upstream).
# They are applied in order with `git apply` to a copy of the upstream (one read-only copy per
# patch content, shared by later builds), and PATCH_TESTS (`go test` arguments naming upstream
# packages) run in the plugin's module, so against the dependencies and SDK fork the plugin is
# built with, with its build tags: a patch whose tests fail builds no plugin. The plugin's
# version gains `+PATCH_VERSION_SUFFIX` (semver build metadata, so the engine still matches it
# to the version the SDK asks for), and it is installed under that version, which `pulumi
# plugin ls` shows. The engine takes every install of one version as the same plugin, build
# metadata or not; an install of it that this script did not make (the official plugin, from
# `pulumi plugin install`) is left in place and this script's own is removed, so that the
# official plugin is the one that runs.
#
# Everything built lives outside the repo, under
#   ${DIND_PROVISIONER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner}
# (src/, build/pulumi-resource-NAME/, pulumi-resource-NAME/<key>/ (the three builds used last
# are kept), and the Go build cache go-build-bridged-plugins/, shared by all bridged plugins);
# Go modules go to the usual Go module cache. The plugin is cached by a key over
# toolchain/modules/pulumi-resource-NAME (patches included; no *.md),
# toolchain/modules/pulumi-bridge-common, this script, the upstream and SDK fork versions, the
# build tags and the SDK's package.json/.d.ts files; a warm run only checks that key and the
# installed copy.
#
# The plugin version is read on every run from node_modules/@pulumi/NAME/package.json (field
# pulumi.version).
#
# Usage: toolchain/steps/pulumi-bridged-plugin.sh NAME [--force] [--print-path] [--without-patches]
#   --force            rebuild and reinstall even if up to date (also replaces an install of
#                      the same version that this script did not make)
#   --print-path       print the installed plugin binary's path on stdout when done
#   --without-patches  build the upstream as the proxy serves it, without UPSTREAM_PATCHES and
#                      without the version suffix, to compare with (the benchmarks do): it is
#                      cached apart (pulumi-resource-NAME-without-patches/<key>/) and never
#                      installed; --print-path prints the built binary in the cache
set -euo pipefail

# Pulumi's fork of the SDKv2, as pinned by pulumi-terraform-bridge v3.120.0's go.mod (the
# bridge version every toolchain/modules/pulumi-resource-*/go.mod requires; checked below).
readonly BRIDGE_MODULE_VERSION="github.com/pulumi/pulumi-terraform-bridge/v3 v3.120.0"
readonly SDK_FORK_MODULE=github.com/pulumi/terraform-plugin-sdk/v2
readonly SDK_FORK_VERSION=v2.0.0-20250923233607-7f1981c8674a

SCRIPT_PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
header() { sed -n '2,/^set -euo/p' "$1" | sed -e '$d' -e 's/^# \{0,1\}//'; }
# The per-plugin scripts set BRIDGED_PLUGIN_WRAPPER to themselves: their header comes first.
usage() { if [ -f "${BRIDGED_PLUGIN_WRAPPER:-}" ]; then header "$BRIDGED_PLUGIN_WRAPPER"; echo; fi; header "$SCRIPT_PATH"; }

PLUGIN_NAME=${1:-}
case "$PLUGIN_NAME" in
    -h|--help) usage; exit 0 ;;
    ""|-*) usage >&2; exit 2 ;;
esac
shift
log() { printf 'pulumi-%s-plugin: %s\n' "$PLUGIN_NAME" "$*" >&2; }
die() { printf 'pulumi-%s-plugin: ERROR: %s\n' "$PLUGIN_NAME" "$*" >&2; exit 1; }
[[ "$PLUGIN_NAME" =~ ^[a-z][a-z0-9-]*$ ]] || die "bad plugin name '$PLUGIN_NAME'"

force=0
print_path=0
without_patches=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        --print-path) print_path=1 ;;
        --without-patches) without_patches=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

ROOT=$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)
TOOL="$ROOT/toolchain/modules/pulumi-resource-$PLUGIN_NAME"
COMMON="$ROOT/toolchain/modules/pulumi-bridge-common"
CACHE="${DIND_PROVISIONER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner}"

# --- the plugin's description ----------------------------------------------------------------
[ -f "$TOOL/bridge.conf" ] || die "missing $TOOL/bridge.conf (no such bridged plugin?)"
BUILD_TAGS="" CHECK_NOT_PROVIDED="" UPSTREAM_PATCHES="" PATCH_VERSION_SUFFIX="" PATCH_TESTS=""
# shellcheck source-path=SCRIPTDIR/../.. source=toolchain/modules/pulumi-resource-docker/bridge.conf
. "$TOOL/bridge.conf"
for v in SDK_PACKAGE VERIFIED_SDK_VERSION UPSTREAM_MODULE UPSTREAM_VERSION UPSTREAM_ZIP_SHA256 \
    UPSTREAM_GOMOD_MODULE BRIDGE UPSTREAM_SHIM SDK_FORK_PATCH CHECK_STRICT; do
    [ -n "${!v:-}" ] || die "$TOOL/bridge.conf does not set $v"
done
if [ -n "$UPSTREAM_PATCHES" ]; then
    [[ "$PATCH_VERSION_SUFFIX" =~ ^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$ ]] ||
        die "$TOOL/bridge.conf sets UPSTREAM_PATCHES, so PATCH_VERSION_SUFFIX must be semver build metadata (e.g. dind.1), not '$PATCH_VERSION_SUFFIX'"
    for patch in $UPSTREAM_PATCHES; do
        [ -f "$TOOL/$patch" ] || die "missing $TOOL/$patch (UPSTREAM_PATCHES in bridge.conf)"
    done
elif [ "$without_patches" = 1 ]; then
    die "$TOOL/bridge.conf lists no UPSTREAM_PATCHES: there is nothing to build without"
fi
# Whether this build applies the patches (the plugin as users get it) or leaves them out.
patched=0
if [ -n "$UPSTREAM_PATCHES" ] && [ "$without_patches" = 0 ]; then patched=1; fi
case "$BRIDGE" in
    sdkv2) TFGEN_OUTPUTS="schema.json" ;;
    pf) TFGEN_OUTPUTS="schema.json bridge-metadata.json" ;;
    *) die "$TOOL/bridge.conf: BRIDGE must be sdkv2 or pf, not '$BRIDGE'" ;;
esac
SDK_DIR="$ROOT/node_modules/$SDK_PACKAGE"

[ -f "$TOOL/go.mod" ] || die "missing $TOOL/go.mod"
[ -f "$SDK_DIR/package.json" ] || die "missing $SDK_DIR/package.json: install the npm dependencies first (npm ci)"
command -v node >/dev/null 2>&1 || die "node is required (to read $SDK_DIR/package.json and to run the schema checker)"

# --- plugin version, from the SDK's package.json, every run --------------------------------
PLUGIN_VERSION=$(node -e '
const p = require(process.argv[1]);
if (!p.pulumi || p.pulumi.name !== process.argv[2] || !p.pulumi.version) { process.exit(3); }
process.stdout.write(String(p.pulumi.version).replace(/^v/, ""));
' "$SDK_DIR/package.json" "$PLUGIN_NAME") || die "$SDK_DIR/package.json has no pulumi.name=$PLUGIN_NAME / pulumi.version"
[[ "$PLUGIN_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] ||
    die "unexpected plugin version '$PLUGIN_VERSION' in $SDK_DIR/package.json"
if [ "$PLUGIN_VERSION" != "$VERIFIED_SDK_VERSION" ]; then
    log "WARNING: $SDK_PACKAGE asks for plugin $PLUGIN_VERSION, but the bridged names/tokens were verified against $VERIFIED_SDK_VERSION; building it as $PLUGIN_VERSION anyway (the schema check below still runs against the installed SDK)"
fi
# The version the plugin reports and is installed under: the patched build says so.
BUILD_VERSION=$PLUGIN_VERSION
if [ "$patched" = 1 ]; then
    [[ "$PLUGIN_VERSION" != *+* ]] || die "plugin version '$PLUGIN_VERSION' already has build metadata; cannot add +$PATCH_VERSION_SUFFIX"
    BUILD_VERSION="$PLUGIN_VERSION+$PATCH_VERSION_SUFFIX"
fi

# --- where the engine looks (sdk/go/common/workspace: PULUMI_HOME, else <user home>/.pulumi) -
if [ -n "${PULUMI_HOME:-}" ]; then
    PULUMI_DIR="$PULUMI_HOME"
else
    # The engine takes the home directory from the user database (os/user), not from $HOME.
    user_home=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6 || true)
    PULUMI_DIR="${user_home:-$HOME}/.pulumi"
fi
PLUGIN_DIR="$PULUMI_DIR/plugins/resource-$PLUGIN_NAME-v$BUILD_VERSION"
PLUGIN_BIN="$PLUGIN_DIR/pulumi-resource-$PLUGIN_NAME"
STAMP_NAME=.dind-provisioner-build
STAMP_FILE="$PLUGIN_DIR/$STAMP_NAME"

# --- cache key --------------------------------------------------------------------------
SDK_FORK="none"
[ "$SDK_FORK_PATCH" = yes ] && SDK_FORK="$SDK_FORK_MODULE@$SDK_FORK_VERSION"
VARIANT=""
[ "$without_patches" = 1 ] && VARIANT="-without-patches"
tree_sums() { # sha256 of every file below a directory, by relative path; documentation builds nothing
    (cd "$1" && find . -type f ! -name '*.swp' ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
KEY=$(
    {
        printf '%s\n' "$UPSTREAM_MODULE@$UPSTREAM_VERSION" "$SDK_FORK" \
            "plugin=$BUILD_VERSION" "tags=$BUILD_TAGS" "variant=$VARIANT" "$(uname -s)/$(uname -m)"
        sha256sum "$SCRIPT_PATH" | cut -d' ' -f1
        tree_sums "$TOOL"
        tree_sums "$COMMON"
        # What the schema checker reads: package.json and the declarations.
        (cd "$SDK_DIR" && { echo package.json; find . -maxdepth 2 -name '*.d.ts'; } | LC_ALL=C sort |
            xargs sha256sum)
    } | sha256sum | cut -c1-16
)
ARTIFACT_ROOT="$CACHE/pulumi-resource-$PLUGIN_NAME$VARIANT"
ARTIFACT="$ARTIFACT_ROOT/$KEY"
# How many builds stay cached (the current one and those installed last): switching between
# branches or versions reinstalls a cached build instead of building again.
KEEP_ARTIFACTS=3

plugin_installed_ok() {
    [ -x "$PLUGIN_BIN" ] && [ ! -e "$PLUGIN_DIR.partial" ] && [ -f "$STAMP_FILE" ] &&
        [ "$(cat "$STAMP_FILE")" = "$KEY" ] && cmp -s "$PLUGIN_BIN" "$ARTIFACT/pulumi-resource-$PLUGIN_NAME"
}

finish() {
    if [ "$print_path" = 1 ]; then printf '%s\n' "$PLUGIN_BIN"; fi
    exit 0
}

# The other installs of this plugin version (build metadata aside): the engine sees one
# version in all of them and loads the one whose directory name sorts last.
other_installs() {
    local dir
    for dir in "$PULUMI_DIR/plugins/resource-$PLUGIN_NAME-v$PLUGIN_VERSION" \
        "$PULUMI_DIR/plugins/resource-$PLUGIN_NAME-v$PLUGIN_VERSION+"*; do
        if [ -d "$dir" ] && [ "$dir" != "$PLUGIN_DIR" ]; then printf '%s\n' "$dir"; fi
    done
}

# Removes an installed plugin directory under the engine's install protocol (see install_plugin).
remove_install() {
    (
        exec 8>"$1.lock"
        flock 8
        : >"$1.partial"
        rm -rf "$1"
        rm -f "$1.partial"
    ) || die "could not remove $1"
    log "removed $1 (another install of plugin $PLUGIN_NAME v$PLUGIN_VERSION)"
}

# --- warm path: checks only ---------------------------------------------------------------
if [ "$without_patches" = 1 ]; then
    # Built for comparison only: never installed, used from the cache.
    PLUGIN_BIN="$ARTIFACT/pulumi-resource-$PLUGIN_NAME"
    if [ "$force" = 0 ] && [ -f "$ARTIFACT/.complete" ]; then
        log "up to date: $PLUGIN_BIN (build $KEY, without the patches)"
        finish
    fi
else
    # An install of this version that this script did not make (e.g. `pulumi plugin install` on
    # a machine with internet) is the user's choice: leave it, and take this script's own away.
    foreign=""
    while read -r dir; do
        if [ -n "$dir" ] && [ ! -e "$dir.partial" ] && [ ! -f "$dir/$STAMP_NAME" ]; then foreign=$dir; fi
    done < <(other_installs; if [ -d "$PLUGIN_DIR" ]; then echo "$PLUGIN_DIR"; fi)
    if [ "$force" = 0 ] && [ -n "$foreign" ]; then
        log "plugin $PLUGIN_NAME v$PLUGIN_VERSION already installed at $foreign (not by this script); leaving it (use --force to replace it)"
        while read -r dir; do
            if [ -n "$dir" ] && [ -f "$dir/$STAMP_NAME" ]; then remove_install "$dir"; fi
        done < <(other_installs; if [ -d "$PLUGIN_DIR" ]; then echo "$PLUGIN_DIR"; fi)
        PLUGIN_BIN="$foreign/pulumi-resource-$PLUGIN_NAME"
        finish
    fi
    if [ "$force" = 0 ] && [ -f "$ARTIFACT/.complete" ] && plugin_installed_ok && [ -z "$(other_installs)" ]; then
        log "up to date: $PLUGIN_BIN (build $KEY)"
        finish
    fi
fi

# --- from here on: build and/or install, one run per plugin at a time ----------------------
mkdir -p "$CACHE/locks"
exec 9>"$CACHE/locks/pulumi-$PLUGIN_NAME-plugin.lock"
if ! flock -n 9; then
    log "another run holds $CACHE/locks/pulumi-$PLUGIN_NAME-plugin.lock; waiting"
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
    touch "$ARTIFACT/.complete" # last used: see KEEP_ARTIFACTS
    log "installed $PLUGIN_BIN (plugin $PLUGIN_NAME v$BUILD_VERSION, build $KEY)"
    # Then the other installs of this version go (this script's own from an older build, or,
    # with --force, one it did not make): the engine would otherwise pick one by name.
    while read -r dir; do
        if [ -n "$dir" ]; then remove_install "$dir"; fi
    done < <(other_installs)
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
grep -q "^[[:space:]]*$BRIDGE_MODULE_VERSION\$" "$TOOL/go.mod" ||
    die "$TOOL/go.mod does not require $BRIDGE_MODULE_VERSION, which SDK_FORK_VERSION in $SCRIPT_PATH belongs to"
[ "$SDK_FORK_PATCH" != yes ] || grep -q '^replace github.com/hashicorp/terraform-plugin-sdk/v2 => ../plugin-sdk$' "$TOOL/go.mod" ||
    die "bridge.conf says SDK_FORK_PATCH=yes, but $TOOL/go.mod does not replace terraform-plugin-sdk/v2 with ../plugin-sdk"

# Go settings for every go command below. Modules go to the usual module cache (shared with
# other builds); the build cache is shared by the bridged plugins (most of what they compile
# is the bridge and the Pulumi SDK). go.sum is authoritative (-mod=readonly).
export GOCACHE="$CACHE/go-build-bridged-plugins"
# The docker plugin's script used to keep its own build cache and an unversioned fork copy.
[ -e "$GOCACHE" ] || [ ! -d "$CACHE/go-build-docker-plugin" ] || mv "$CACHE/go-build-docker-plugin" "$GOCACHE"
rm -rf "$CACHE/src/terraform-plugin-sdk-v2@$SDK_FORK_VERSION"
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
export CGO_ENABLED="${CGO_ENABLED:-0}"
log "building plugin $PLUGIN_NAME v$BUILD_VERSION (build $KEY, $BRIDGE bridge${VARIANT:+, without the patches}) with $("$GO_BIN" version | cut -d' ' -f3-)"

# --- 1. the Terraform upstream, from the Go module proxy, + shim ------------------------------
proxy=$("$GO_BIN" env GOPROXY)
proxy=${proxy%%[,|]*}
case "$proxy" in
    ""|direct|off) die "GOPROXY's first entry is '$proxy': a module proxy is needed to fetch $UPSTREAM_MODULE" ;;
esac
proxy=${proxy%/}
UPSTREAM_SRC="$CACHE/src/${UPSTREAM_MODULE##*/}@$UPSTREAM_VERSION"
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
grep -q "^module $UPSTREAM_GOMOD_MODULE\$" "$UPSTREAM_SRC/go.mod" ||
    die "$UPSTREAM_SRC/go.mod does not declare module $UPSTREAM_GOMOD_MODULE"

BUILD="$CACHE/build/pulumi-resource-$PLUGIN_NAME"
rm -rf "$BUILD/out"
mkdir -p "$BUILD/out"

# --- 1b. the project's patches, applied to a copy of the upstream (their tests run in 3b) ----
if [ "$patched" = 1 ]; then
    patches_sum=$(cd "$TOOL" && sha256sum $UPSTREAM_PATCHES | sha256sum | cut -c1-12)
    PATCHED_SRC="$UPSTREAM_SRC+patch-$patches_sum"
    if [ ! -f "$PATCHED_SRC/.patched" ]; then
        rm -rf "$PATCHED_SRC" "$PATCHED_SRC.tmp"
        cp -R "$UPSTREAM_SRC" "$PATCHED_SRC.tmp"
        rm -rf "$PATCHED_SRC.tmp/shim" "$PATCHED_SRC.tmp/.unpacked"
        for patch in $UPSTREAM_PATCHES; do
            log "applying $patch"
            # Outside any repository (the ceiling stops git's search), git apply patches plain files.
            (cd "$PATCHED_SRC.tmp" && GIT_CEILING_DIRECTORIES="$CACHE/src" git apply --whitespace=nowarn "$TOOL/$patch") ||
                { rm -rf "$PATCHED_SRC.tmp"; die "$TOOL/$patch does not apply to $UPSTREAM_MODULE@$UPSTREAM_VERSION"; }
        done
        touch "$PATCHED_SRC.tmp/.patched"
        mv "$PATCHED_SRC.tmp" "$PATCHED_SRC"
    fi
    UPSTREAM_SRC=$PATCHED_SRC
fi
rm -rf "$UPSTREAM_SRC/shim"
if [ "$UPSTREAM_SHIM" = yes ]; then
    mkdir -p "$UPSTREAM_SRC/shim"
    cp "$TOOL"/shim/*.go "$UPSTREAM_SRC/shim/"
fi

# --- 2. Pulumi's SDKv2 fork + sdkpatch: one read-only copy per patch content, shared ----------
FORK_SRC=""
if [ "$SDK_FORK_PATCH" = yes ]; then
    patch_sum=$(tree_sums "$COMMON/sdkpatch" | sha256sum | cut -c1-12)
    FORK_SRC="$CACHE/src/terraform-plugin-sdk-v2@$SDK_FORK_VERSION+patch-$patch_sum"
    if [ ! -f "$FORK_SRC/.copied" ]; then
        # Other plugins' builds use the same copy: make it under a lock, publish it by rename.
        exec 7>"$CACHE/locks/sdk-fork.lock"
        flock 7
        if [ ! -f "$FORK_SRC/.copied" ]; then
            log "fetching $SDK_FORK_MODULE@$SDK_FORK_VERSION"
            fork_dir=$(cd "$CACHE" && GOFLAGS='' "$GO_BIN" mod download -json "$SDK_FORK_MODULE@$SDK_FORK_VERSION" |
                node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}process.stdout.write(j.Dir)})') ||
                die "go mod download $SDK_FORK_MODULE@$SDK_FORK_VERSION failed"
            rm -rf "$FORK_SRC" "$FORK_SRC.tmp"
            cp -R "$fork_dir" "$FORK_SRC.tmp"
            chmod -R u+w "$FORK_SRC.tmp"
            (cd "$COMMON/sdkpatch" && find . -name '*.go' -print) | while read -r rel; do
                cp "$COMMON/sdkpatch/$rel" "$FORK_SRC.tmp/$rel"
            done
            touch "$FORK_SRC.tmp/.copied"
            mv "$FORK_SRC.tmp" "$FORK_SRC"
        fi
        exec 7>&-
    fi
fi

# --- 3. build copy of the module: <build>/{mod,upstream,plugin-sdk} ---------------------------
rm -rf "$BUILD/mod"
cp -R "$TOOL" "$BUILD/mod"
ln -sfn "$UPSTREAM_SRC" "$BUILD/upstream"
if [ -n "$FORK_SRC" ]; then ln -sfn "$FORK_SRC" "$BUILD/plugin-sdk"; else rm -f "$BUILD/plugin-sdk"; fi
CMD_DIR="$BUILD/mod/cmd/pulumi-resource-$PLUGIN_NAME"
# The plugin embeds tfgen's outputs; placeholders let the module load before tfgen has run.
for f in $TFGEN_OUTPUTS; do printf '{}\n' >"$CMD_DIR/$f"; done
# (-X of a variable a plugin does not declare is ignored by the linker.)
LDFLAGS="-s -w -X main.version=$BUILD_VERSION -X dind-provisioner/toolchain/modules/pulumi-resource-$PLUGIN_NAME.UpstreamVersion=$UPSTREAM_VERSION"

# --- 3b. the patches' tests, built here: what the plugin is built from and with --------------
if [ "$patched" = 1 ] && [ -n "$PATCH_TESTS" ]; then
    log "testing the patches: go test -tags '$BUILD_TAGS' $PATCH_TESTS"
    # -trimpath as the builds below: they share the compiled packages.
    # shellcheck disable=SC2086 # PATCH_TESTS is a list of arguments
    if ! (cd "$BUILD/mod" && "$GO_BIN" test -trimpath -tags "$BUILD_TAGS" $PATCH_TESTS) >"$BUILD/out/patch-tests.log" 2>&1; then
        tail -n 40 "$BUILD/out/patch-tests.log" >&2
        die "the patches' tests failed (full log: $BUILD/out/patch-tests.log)"
    fi
    sed 's/^/  /' "$BUILD/out/patch-tests.log" >&2
fi

go_build() { # <log name> <output> <package>
    local name=$1 out=$2 pkg=$3
    if ! (cd "$BUILD/mod" && "$GO_BIN" build -tags "$BUILD_TAGS" -trimpath -ldflags "$LDFLAGS" -o "$out" "$pkg") \
        >"$BUILD/out/$name.log" 2>&1; then
        tail -n 30 "$BUILD/out/$name.log" >&2
        if grep -q 'go: updates to go.mod needed\|missing go.sum entry' "$BUILD/out/$name.log"; then
            log "hint: go.mod/go.sum of toolchain/modules/pulumi-resource-$PLUGIN_NAME are stale; run 'go mod tidy' in $BUILD/mod and copy go.mod/go.sum back"
        fi
        die "go build $pkg failed (full log: $BUILD/out/$name.log)"
    fi
}

# --- 4. tfgen -> schema -> check ------------------------------------------------------------------
log "building pulumi-tfgen-$PLUGIN_NAME (a cold build takes several minutes on 2 cores)"
go_build tfgen-build "$BUILD/out/pulumi-tfgen-$PLUGIN_NAME" "./cmd/pulumi-tfgen-$PLUGIN_NAME"
log "generating the schema"
mkdir -p "$BUILD/out/schema"
# --skip-examples: turning the upstream's HCL examples into docs needs the pulumi CLI.
# <NAME>_TF_UPSTREAM_DIR lets ProviderInfo.UpstreamRepoPath find the upstream's docs/.
upstream_env=${PLUGIN_NAME^^}_TF_UPSTREAM_DIR
if ! (cd "$BUILD/mod" && env "${upstream_env//-/_}=$UPSTREAM_SRC" \
    "$BUILD/out/pulumi-tfgen-$PLUGIN_NAME" schema --skip-examples --out "$BUILD/out/schema") >"$BUILD/out/tfgen.log" 2>&1; then
    grep -v '^\s' "$BUILD/out/tfgen.log" | tail -n 30 >&2
    die "tfgen failed (full log: $BUILD/out/tfgen.log)"
fi
rm -f "$BUILD/out/pulumi-tfgen-$PLUGIN_NAME" # 100+ MB, only needed for the step above
SCHEMA="$BUILD/out/schema/schema.json"
for f in $TFGEN_OUTPUTS; do [ -s "$BUILD/out/schema/$f" ] || die "tfgen wrote no $BUILD/out/schema/$f"; done
log "checking the schema against $SDK_DIR"
if ! node "$COMMON/check-schema.js" --schema "$SCHEMA" --sdk "$SDK_DIR" --strict "$CHECK_STRICT" \
    --not-provided "$CHECK_NOT_PROVIDED" --quiet >"$BUILD/out/check.log" 2>&1; then
    cat "$BUILD/out/check.log" >&2
    die "the generated schema does not match $SDK_PACKAGE $PLUGIN_VERSION: add field overrides in toolchain/modules/pulumi-resource-$PLUGIN_NAME/resources.go"
fi
sed 's/^/  /' "$BUILD/out/check.log" >&2

# --- 5. the plugin, schema embedded ------------------------------------------------------------
log "building pulumi-resource-$PLUGIN_NAME"
for f in $TFGEN_OUTPUTS; do cp "$BUILD/out/schema/$f" "$CMD_DIR/$f"; done
go_build plugin-build "$BUILD/out/pulumi-resource-$PLUGIN_NAME" "./cmd/pulumi-resource-$PLUGIN_NAME"
got_version=$("$BUILD/out/pulumi-resource-$PLUGIN_NAME" -version 2>/dev/null) || die "built plugin does not run"
[ "$got_version" = "$BUILD_VERSION" ] || die "built plugin reports version '$got_version', want $BUILD_VERSION"

# --- 6. publish the artifact atomically, drop older ones -----------------------------------------
mkdir -p "$ARTIFACT_ROOT"
rm -rf "$ARTIFACT.tmp"
mkdir -p "$ARTIFACT.tmp"
cp "$BUILD/out/pulumi-resource-$PLUGIN_NAME" "$SCHEMA" "$BUILD/out/check.log" "$ARTIFACT.tmp/"
if [ -f "$BUILD/out/patch-tests.log" ]; then cp "$BUILD/out/patch-tests.log" "$ARTIFACT.tmp/"; fi
patches_applied="none"
# shellcheck disable=SC2086 # one line: the list's words joined by commas
[ "$patched" = 1 ] && patches_applied=$(printf '%s,' $UPSTREAM_PATCHES | sed 's/,$//')
printf 'plugin=%s upstream=%s@%s patches=%s sdk-fork=%s bridge=%s built=%s\n' "$BUILD_VERSION" "$UPSTREAM_MODULE" \
    "$UPSTREAM_VERSION" "$patches_applied" "$SDK_FORK" "$BRIDGE" "$(date -u +%FT%TZ)" >"$ARTIFACT.tmp/.complete"
rm -rf "$ARTIFACT"
mv "$ARTIFACT.tmp" "$ARTIFACT"
rm -f "$BUILD/out/pulumi-resource-$PLUGIN_NAME" # the artifact holds it
# Keep the builds used last (their .complete is touched when installed), drop older ones.
ls -1dt "$ARTIFACT_ROOT"/*/.complete 2>/dev/null | tail -n +$((KEEP_ARTIFACTS + 1)) | while read -r old; do
    rm -rf "$(dirname "$old")"
done
for old in "$ARTIFACT_ROOT"/*; do
    [ -f "$old/.complete" ] || rm -rf "$old" # unfinished builds
done
log "built in $((SECONDS - start)) s: $ARTIFACT"

if [ "$without_patches" = 0 ]; then install_plugin; fi
finish
