#!/usr/bin/env bash
# Installs the Pulumi CLI at the version of the installed @pulumi/pulumi npm package, with the
# pulumi-resource-pulumi-nodejs launcher that Node.js dynamic providers need next to it (a
# restricted DooD client's DoodScope is one), and prints the absolute path of the directory
# holding `pulumi` (progress goes to stderr):
#
#   PATH="$(toolchain/steps/pulumi-cli.sh):$PATH"
#
# Where the CLI comes from (first that applies):
#   1. a `pulumi` already on PATH with the same major version: used as is;
#   2. $CACHE/bin, filled by an earlier run (keyed by version and by a hash of
#      toolchain/modules/pulumi-cli/go.mod + go.sum): a warm run does only these checks;
#   3. the official installer, if get.pulumi.com answers;
#   4. offline: a build from the Go module proxy through toolchain/modules/pulumi-cli (cold: 10-15 min on
#      2 cores). If @pulumi/pulumi was bumped, toolchain/modules/pulumi-cli/go.mod and go.sum are re-pinned
#      first; commit them.
#
# Environment:
#   DIND_PROVISIONER_CACHE        cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner)
#   DIND_PROVISIONER_PULUMI_BUILD=1   skip 1 and 3: always use (or make) the Go-proxy build
set -euo pipefail

log() { printf 'pulumi-cli: %s\n' "$*" >&2; }
die() { printf 'pulumi-cli: error: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
MODDIR="$ROOT/toolchain/modules/pulumi-cli"
LAUNCHER_SRC="$ROOT/toolchain/steps/pulumi-resource-pulumi-nodejs"
NPM_PKG_JSON="$ROOT/node_modules/@pulumi/pulumi/package.json"
CACHE="${DIND_PROVISIONER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner}"
BIN="$CACHE/bin"
STAMP="$BIN/.pulumi-cli.key"
LAUNCHER=pulumi-resource-pulumi-nodejs
PKG=github.com/pulumi/pulumi/pkg/v3
SDK=github.com/pulumi/pulumi/sdk/v3
export PULUMI_SKIP_UPDATE_CHECK=1

command -v node >/dev/null || die "node is not on PATH"
[ -f "$NPM_PKG_JSON" ] || die "$NPM_PKG_JSON not found: run 'npm ci' in $ROOT first"
VERSION=$(node -p 'require(process.argv[1]).version' "$NPM_PKG_JSON") || die "cannot read $NPM_PKG_JSON"
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "unexpected @pulumi/pulumi version '$VERSION'"
mkdir -p "$BIN"
BIN=$(cd "$BIN" && pwd -P)
STAMP="$BIN/.pulumi-cli.key"

cli_version() { "$1" version 2>/dev/null | head -n1; }

# 1. A pulumi on PATH (other than ours) with the same major version.
if [ "${DIND_PROVISIONER_PULUMI_BUILD:-}" != 1 ]; then
    IFS=: read -r -a path_dirs <<<"$PATH"
    for d in "${path_dirs[@]}"; do
        [ -n "$d" ] && [ -f "$d/pulumi" ] && [ -x "$d/pulumi" ] || continue
        d=$(cd "$d" && pwd -P) || continue
        [ "$d" != "$BIN" ] || continue
        v=$(cli_version "$d/pulumi") || v=
        if [[ $v == "v${VERSION%%.*}."* ]]; then
            log "using pulumi $v from $d/pulumi (on PATH; @pulumi/pulumi is $VERSION)"
            real=$(dirname "$(readlink -f "$d/pulumi")")
            if [ -x "$real/$LAUNCHER" ] || command -v "$LAUNCHER" >/dev/null; then
                printf '%s\n' "$d"
                exit 0
            fi
            # No launcher next to it nor on PATH: serve both from $BIN (the engine then finds
            # the launcher on PATH once the caller puts $BIN there).
            log "no $LAUNCHER next to it: linking it into $BIN with our launcher"
            rm -f "$STAMP"
            ln -sfn "$d/pulumi" "$BIN/pulumi"
            install -m 0755 "$LAUNCHER_SRC" "$BIN/$LAUNCHER"
            printf '%s\n' "$BIN"
            exit 0
        fi
        log "ignoring $d/pulumi (${v:-no version}): major version differs from $VERSION"
        break
    done
fi

gomod_hash() { cat "$MODDIR/go.mod" "$MODDIR/go.sum" | sha256sum | cut -c1-16; }

# 2. The cache.
cache_is_warm() {
    [ -f "$BIN/pulumi" ] && [ ! -L "$BIN/pulumi" ] && [ -x "$BIN/pulumi" ] && [ -f "$STAMP" ] || return 1
    local key
    key=$(<"$STAMP")
    [ "$key" = "v$VERSION-official" ] && [ -x "$BIN/$LAUNCHER" ] && return 0
    [ "$key" = "v$VERSION-go-$(gomod_hash)" ] || return 1
    # Our launcher is cheap to put back: a missing or older one is installed, nothing rebuilt.
    cmp -s "$LAUNCHER_SRC" "$BIN/$LAUNCHER" 2>/dev/null || install -m 0755 "$LAUNCHER_SRC" "$BIN/$LAUNCHER"
}
if cache_is_warm; then
    log "cached pulumi v$VERSION in $BIN"
    printf '%s\n' "$BIN"
    exit 0
fi

# Serialise concurrent cold runs; the winner fills the cache for the others.
if command -v flock >/dev/null; then
    exec 9>"$CACHE/.pulumi-cli.lock"
    flock -n 9 || { log "waiting for another pulumi-cli.sh run to finish"; flock 9; }
    if cache_is_warm; then
        log "cached pulumi v$VERSION in $BIN"
        printf '%s\n' "$BIN"
        exit 0
    fi
fi

# Puts a verified pulumi binary (by hard link, else copy) and the launcher in $BIN, then stamps.
install_bin() { # <pulumi binary> <stamp key>
    local v
    v=$(cli_version "$1") || v=
    [ "$v" = "v$VERSION" ] || die "$1 reports version '${v}', expected v$VERSION"
    rm -f "$BIN/.pulumi.new"
    if [ ! "$1" -ef "$BIN/pulumi" ]; then
        ln "$1" "$BIN/.pulumi.new" 2>/dev/null || cp "$1" "$BIN/.pulumi.new"
        mv -f "$BIN/.pulumi.new" "$BIN/pulumi"
    fi
    if [ "${2%-official}" = "$2" ] || [ ! -x "$BIN/$LAUNCHER" ]; then
        install -m 0755 "$LAUNCHER_SRC" "$BIN/$LAUNCHER"
    fi
    printf '%s\n' "$2" >"$STAMP"
}

# 3. Online: the official installer (it ships the launcher and the language hosts too).
if [ "${DIND_PROVISIONER_PULUMI_BUILD:-}" != 1 ] && curl -fsS -m 5 -o /dev/null https://get.pulumi.com 2>/dev/null; then
    root="$CACHE/official/v$VERSION"
    log "installing pulumi v$VERSION with the official installer into $root"
    curl -fsSL -m 60 https://get.pulumi.com \
        | sh -s -- --version "$VERSION" --install-root "$root" --no-edit-path >&2 \
        || die "the official installer failed"
    for f in "$root"/bin/*; do
        [ "$(basename "$f")" = pulumi ] || cp -f "$f" "$BIN/"
    done
    install_bin "$root/bin/pulumi" "v$VERSION-official"
    log "installed pulumi v$VERSION in $BIN"
    printf '%s\n' "$BIN"
    exit 0
fi

# 4. Offline: build from the Go module proxy.
GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } \
    || die "get.pulumi.com is unreachable and Go is not installed: install Go (see the go line of $MODDIR/go.mod) to build pulumi"
mod_error() { sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | sed 's/\\n\\t/ /g; s/\\n/ /g'; }

# Re-pins go.mod/go.sum to pkg/v3 + sdk/v3 v$VERSION, restating pkg/v3's non-local replaces.
repin() {
    local v="v$VERSION" json err gomod edits_txt edits=() backup out
    log "re-pinning $MODDIR/go.mod to $PKG@$v (commit go.mod and go.sum afterwards)"
    if ! json=$(cd "$MODDIR" && "$GO" mod download -json "$PKG@$v" "$SDK@$v" 2>&1); then
        err=$(mod_error <<<"$json" | head -n1)
        die "cannot download pulumi $v from the Go module proxy: ${err:-$json}"
    fi
    gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"$json" | grep '/pkg/v3/@v/' | head -n1)
    [ -f "$gomod" ] || die "cannot locate the go.mod of $PKG@$v"
    edits_txt=$(
        { (cd "$MODDIR" && "$GO" mod edit -json); printf '\0'; "$GO" mod edit -json "$gomod"; } | node -e '
            const [ours, theirs] = require("fs").readFileSync(0, "utf8").split("\0").map(JSON.parse);
            for (const r of ours.Replace || [])
                console.log(`-dropreplace=${r.Old.Path}${r.Old.Version ? "@" + r.Old.Version : ""}`);
            for (const r of theirs.Replace || []) {
                const old = `${r.Old.Path}${r.Old.Version ? "@" + r.Old.Version : ""}`;
                if (r.New.Version) console.log(`-replace=${old}=${r.New.Path}@${r.New.Version}`);
                else if (r.Old.Path !== "github.com/pulumi/pulumi/sdk/v3")
                    console.error(`pulumi-cli: warning: cannot restate local replace ${old} => ${r.New.Path}`);
            }') || die "cannot read the replaces of $gomod"
    [ -z "$edits_txt" ] || mapfile -t edits <<<"$edits_txt"
    backup=$(mktemp -d)
    cp "$MODDIR/go.mod" "$MODDIR/go.sum" "$backup/"
    if ! out=$(cd "$MODDIR" && "$GO" mod edit -require="$PKG@$v" -require="$SDK@$v" "${edits[@]}" 2>&1 \
               && "$GO" mod tidy 2>&1); then
        cp "$backup/go.mod" "$backup/go.sum" "$MODDIR/"
        rm -rf "$backup"
        printf '%s\n' "$out" | grep -v '^go: downloading' >&2
        die "cannot re-pin toolchain/modules/pulumi-cli to pulumi $v (see above; a module refused by the proxy answers 403)"
    fi
    rm -rf "$backup"
}

pinned=$(awk -v m="$PKG" '$1 == m { print $2; exit }' "$MODDIR/go.mod")
[ "$pinned" = "v$VERSION" ] || repin

KEY="v$VERSION-go-$(gomod_hash)"
out="$CACHE/pulumi-cli/$KEY"
if [ -x "$out/pulumi" ]; then
    log "reusing the build in $out"
else
    log "building pulumi v$VERSION from the Go module proxy with $("$GO" env GOVERSION) (cold: 10-15 min on 2 cores)"
    tmp="$out.tmp.$$"
    trap 'rm -rf "$tmp"' EXIT
    rm -rf "$tmp" && mkdir -p "$tmp"
    start=$SECONDS
    (cd "$MODDIR" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" "$GO" build -trimpath \
        -ldflags "-s -w -X $SDK/go/common/version.Version=v$VERSION" \
        -o "$tmp/pulumi" "$PKG/cmd/pulumi") >&2 \
        || die "go build of $PKG/cmd/pulumi@v$VERSION failed (see above)"
    rm -rf "$out" && mv "$tmp" "$out"
    log "built in $((SECONDS - start)) s"
fi
install_bin "$out/pulumi" "$KEY"
log "installed pulumi v$VERSION in $BIN"
printf '%s\n' "$BIN"
