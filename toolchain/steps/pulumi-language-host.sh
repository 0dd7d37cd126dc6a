#!/usr/bin/env bash
# Gives the Pulumi CLI a Node.js language host (`pulumi-language-nodejs`), so `pulumi up` and
# friends run index.ts and Node.js policy packs, and prints the absolute path of the directory
# holding it (progress goes to stderr):
#
#   PATH="$(toolchain/steps/pulumi-language-host.sh "$PULUMI_DIR"):$PATH"
#
# PULUMI_DIR is the directory of the `pulumi` that toolchain/steps/pulumi-cli.sh chose.
# Where the host comes from (first that applies):
#   1. one beside that `pulumi`, or on PATH, that this script did not install (an official
#      install ships it): used as is;
#   2. $CACHE/bin, filled by an earlier run (keyed by the @pulumi/pulumi version and a hash of
#      toolchain/modules/pulumi-language-nodejs): a warm run does only these checks;
#   3. a build of toolchain/modules/pulumi-language-nodejs from the Go module proxy (the proxy refuses the
#      official host's module). That host is ours, not Pulumi's: its README says how it differs.
#      If @pulumi/pulumi was bumped, the module's go.mod/go.sum are re-pinned first; commit them.
#
# Environment:
#   DIND_PROVISIONER_CACHE          cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner)
#   DIND_PROVISIONER_PULUMI_BUILD=1 skip 1: always use (or make) the Go-proxy build
set -euo pipefail
DP_NAME=pulumi-language-host
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

readonly HOST=pulumi-language-nodejs
readonly SDK=github.com/pulumi/pulumi/sdk/v3
MODDIR="$DP_ROOT/toolchain/modules/pulumi-language-nodejs"
NPM_PKG_JSON="$DP_ROOT/node_modules/@pulumi/pulumi/package.json"
PULUMI_DIR="${1:?usage: pulumi-language-host.sh PULUMI_DIR}"
mkdir -p "$DP_CACHE/bin"
BIN=$(cd "$DP_CACHE/bin" && pwd -P)
STAMP="$BIN/.$HOST.key"

have node || die "node is not on PATH"
[ -f "$NPM_PKG_JSON" ] || die "$NPM_PKG_JSON not found: run 'npm ci' in $DP_ROOT first"
VERSION=$(node -p 'require(process.argv[1]).version' "$NPM_PKG_JSON")

# 1. An official host beside the CLI or on PATH.
if [ "${DIND_PROVISIONER_PULUMI_BUILD:-}" != 1 ]; then
    for candidate in "$PULUMI_DIR/$HOST" "$(command -v "$HOST" || true)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        dir=$(cd "$(dirname "$candidate")" && pwd -P)
        [ "$dir" != "$BIN" ] || continue
        log "using $candidate"
        printf '%s\n' "$dir"
        exit 0
    done
fi

GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } \
    || die "Go is not installed: install Go (see the go line of $MODDIR/go.mod) to build $HOST"

# Re-pin sdk/v3 to the installed @pulumi/pulumi, as pulumi-cli.sh does for the CLI.
pinned=$(awk -v m="$SDK" '$1 == m { print $2; exit }' "$MODDIR/go.mod")
if [ "$pinned" != "v$VERSION" ]; then
    log "re-pinning $MODDIR/go.mod to $SDK@v$VERSION (commit go.mod and go.sum afterwards)"
    (cd "$MODDIR" && "$GO" get "$SDK@v$VERSION" && "$GO" mod tidy) >&2 \
        || die "cannot re-pin $MODDIR to $SDK@v$VERSION (see above)"
fi

# 2. The cache, keyed by everything the binary is made of.
KEY="v$VERSION-$(cat "$MODDIR"/go.mod "$MODDIR"/go.sum "$MODDIR"/*.go | sha256sum | cut -c1-16)"
if [ -x "$BIN/$HOST" ] && [ -f "$STAMP" ] && [ "$(<"$STAMP")" = "$KEY" ]; then
    log "cached $HOST $KEY in $BIN"
    printf '%s\n' "$BIN"
    exit 0
fi

# 3. Build (serialised: concurrent cold runs wait for the first).
if have flock; then
    exec 9>"$DP_CACHE/.$HOST.lock"
    flock 9
fi
out="$DP_CACHE/$HOST/$KEY"
if [ ! -x "$out/$HOST" ]; then
    log "building $HOST ($KEY) from the Go module proxy with $("$GO" env GOVERSION)"
    tmp="$out.tmp.$$"
    trap 'rm -rf "$tmp"' EXIT
    rm -rf "$tmp" && mkdir -p "$tmp"
    start=$EPOCHREALTIME
    # The flags of pulumi-cli.sh's build, so both share the Go build cache's compiled packages.
    (cd "$MODDIR" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" "$GO" build -trimpath \
        -ldflags "-s -w -X $SDK/go/common/version.Version=v$VERSION" -o "$tmp/$HOST" .) >&2 \
        || die "go build of $MODDIR failed (see above)"
    rm -rf "$out" && mv "$tmp" "$out"
    log "built in $(since "$start")"
fi
install -m 0755 "$out/$HOST" "$BIN/.$HOST.new"
mv -f "$BIN/.$HOST.new" "$BIN/$HOST"
printf '%s\n' "$KEY" >"$STAMP"
log "installed $HOST $KEY in $BIN"
printf '%s\n' "$BIN"
