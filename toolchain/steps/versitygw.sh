#!/usr/bin/env bash
# Installs versitygw, an S3-compatible object server, from the Go module proxy, and prints the
# absolute path of its binary (progress goes to stderr). The tests run it on 127.0.0.1 as the
# storage of a Pulumi self-managed backend shared by two "runners"; the product never needs it.
#
#   VERSITYGW="$(bash toolchain/steps/versitygw.sh)"
#
# Cached in $DP_CACHE/versitygw/<version>/versitygw; cold: `go install` (about 2 min on 2 cores).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION=v1.8.0
MODULE=github.com/versity/versitygw/cmd/versitygw
DIR="$DP_CACHE/versitygw/$VERSION"
BIN="$DIR/versitygw"

if [ -x "$BIN" ]; then
    log "cached $MODULE@$VERSION in $DIR"
    printf '%s\n' "$BIN"
    exit 0
fi

GO=$(command -v go || true)
[ -n "$GO" ] || { [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go; } || die "Go is not installed: it builds versitygw from the Go module proxy"
mkdir -p "$DP_CACHE/versitygw"
# Serialise concurrent cold runs; the winner fills the cache for the others.
exec 9>"$DP_CACHE/versitygw/.lock"
flock 9
if [ ! -x "$BIN" ]; then
    log "building $MODULE@$VERSION from the Go module proxy (cold: about 2 min on 2 cores)"
    tmp="$DIR.tmp.$$"
    trap 'rm -rf "$tmp"' EXIT
    rm -rf "$tmp" && mkdir -p "$tmp"
    GOBIN="$tmp" CGO_ENABLED=0 "$GO" install -trimpath -ldflags "-s -w" "$MODULE@$VERSION" >&2 \
        || die "go install $MODULE@$VERSION failed (see above)"
    rm -rf "$DIR" && mv "$tmp" "$DIR"
    log "built in $(elapsed)"
fi
printf '%s\n' "$BIN"
