#!/usr/bin/env bash
# SANDBOX-ONLY workaround: make `docker run --privileged` (and `docker exec` into
# such a container) work on a machine whose capability bounding set lacks
# CAP_SYS_RESOURCE (runc: "unable to apply caps: operation not permitted").
#
# Builds the sandbox-runc wrapper (main.go beside this file), installs it as
# /usr/local/libexec/dind-provisioner/sandbox-runc and registers it in
# /etc/docker/daemon.json as a runtime AND as the default runtime, merging into
# whatever daemon.json already holds. It does not restart dockerd: the caller
# (toolchain/steps/engine.sh, and only after its privileged probe failed with
# that error) restarts the daemon it started.
#
# Why Go: the wrapper runs on every runc invocation (each container create,
# start, exec, kill, delete, state), so it must start in about a millisecond and
# depend on nothing at run time. A static Go binary does both, uses only the
# standard library, and can edit the JSON without touching other fields. Go is
# at /usr/local/go on this machine kind; elsewhere Debian's golang-go is
# installed (the code builds with Go >= 1.19). A python3 wrapper would cost
# ~20-50 ms per runc call (and here python3 is a pyenv shim); sh + jq forks
# several processes per call and is harder to make robust to argv layouts.
#
# Environment:
#   SANDBOX_RUNC_PATH     install path (default /usr/local/libexec/dind-provisioner/sandbox-runc)
#   DOCKER_DAEMON_JSON    daemon config (default /etc/docker/daemon.json)
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=sandbox-runtime
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../steps/common.sh
source "$HERE/../steps/common.sh"

RUNTIME_NAME=dind-provisioner-sandbox
TARGET="${SANDBOX_RUNC_PATH:-/usr/local/libexec/dind-provisioner/sandbox-runc}"
DAEMON_JSON="${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}"

[ "$(id -u)" = 0 ] || die "must run as root (writes $TARGET and $DAEMON_JSON)"

apt_install() {
  have apt-get || die "$* missing and apt-get not available: install $*"
  log "installing $* from Debian (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; } \
    || die "apt-get install $* failed"
}

# --- build (cached by source hash) ------------------------------------------
src_hash="$(cat "$HERE/main.go" "$HERE/go.mod" | sha256sum | cut -c1-16)"
built="$DP_CACHE/sandbox-runtime/sandbox-runc-$src_hash"
if [ ! -x "$built" ]; then
  go=""
  for g in go /usr/local/go/bin/go /usr/lib/go/bin/go; do
    if command -v "$g" >/dev/null 2>&1; then go="$(command -v "$g")"; break; fi
  done
  if [ -z "$go" ]; then
    apt_install golang-go
    go="$(command -v go)" || die "no go toolchain after installing golang-go"
  fi
  log "building sandbox-runc with $("$go" version | cut -d' ' -f3)"
  mkdir -p "$(dirname "$built")"
  (cd "$HERE" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    "$go" build -trimpath -ldflags='-s -w' -o "$built.tmp" .) || die "go build failed"
  mv -f "$built.tmp" "$built"
fi

# --- install (atomic replace: a running runc call keeps the old inode) --------
if ! cmp -s "$built" "$TARGET" 2>/dev/null; then
  mkdir -p "$(dirname "$TARGET")"
  cp "$built" "$TARGET.tmp.$$" && chmod 0755 "$TARGET.tmp.$$" && mv -f "$TARGET.tmp.$$" "$TARGET"
  log "installed $TARGET"
fi

# --- register in daemon.json (merge, never clobber) ---------------------------
have jq || apt_install jq
mkdir -p "$(dirname "$DAEMON_JSON")"
current='{}'
if [ -s "$DAEMON_JSON" ]; then
  current="$(cat "$DAEMON_JSON")"
  jq -e 'type == "object"' >/dev/null 2>&1 <<<"$current" || die "$DAEMON_JSON is not a JSON object; fix it by hand"
fi
merged="$(jq --arg name "$RUNTIME_NAME" --arg path "$TARGET" \
  '.runtimes[$name] = ((.runtimes[$name] // {}) + {path: $path}) | .["default-runtime"] = $name' <<<"$current")"
if [ "$(jq -S . <<<"$current")" != "$(jq -S . <<<"$merged")" ]; then
  prev="$(jq -r '.["default-runtime"] // empty' <<<"$current")"
  [ -z "$prev" ] || [ "$prev" = "$RUNTIME_NAME" ] || log "note: default-runtime was '$prev', now '$RUNTIME_NAME'"
  if [ -e "$DAEMON_JSON" ] && [ ! -e "$DAEMON_JSON.before-dind-provisioner" ]; then
    cp -p "$DAEMON_JSON" "$DAEMON_JSON.before-dind-provisioner"
  fi
  printf '%s\n' "$merged" >"$DAEMON_JSON.tmp.$$" && mv -f "$DAEMON_JSON.tmp.$$" "$DAEMON_JSON"
  log "registered runtime '$RUNTIME_NAME' (default) in $DAEMON_JSON; dockerd must be restarted"
else
  log "runtime '$RUNTIME_NAME' already registered in $DAEMON_JSON"
fi
