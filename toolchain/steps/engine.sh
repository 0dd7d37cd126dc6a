#!/usr/bin/env bash
# Make a Docker daemon answer `docker version` (DOCKER_HOST honoured).
#
#  1. A daemon already answers: use it, do nothing else. (Exception: the daemon
#     this script started itself whose privileged probe never completed, e.g. an
#     interrupted earlier run: the probe below is finished first.)
#  2. Else, on Debian as root: install Debian's docker.io if dockerd is missing,
#     start dockerd in the background (no systemd here) logging to
#     $DP_CACHE/engine/dockerd.log, and wait until it answers.
#  3. Else fail, saying what to install.
#  Then, for a daemon started here: a privileged probe
#     docker run --rm --privileged dind-provisioner/busybox:local true
#  If, and only if, it fails with runc's "unable to apply caps" error, apply the
#  SANDBOX-ONLY workaround toolchain/sandbox-runtime/install.sh, restart the
#  daemon and probe again (privileged run + docker exec into one).
#
# Environment: DIND_PROVISIONER_CACHE, DOCKER_HOST,
#   DIND_PROVISIONER_ENGINE_TIMEOUT (seconds to wait for dockerd, default 60).
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=engine
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ENGINE_DIR="$DP_CACHE/engine"
LOG="$ENGINE_DIR/dockerd.log"
PIDFILE="$ENGINE_DIR/dockerd.pid"     # pid of the dockerd started by this script
PROBED="$ENGINE_DIR/probe-ok.pid"     # that pid, once its privileged probe passed
DOCKERD_PIDFILE=/var/run/docker.pid   # dockerd's own pidfile (its default)
TIMEOUT="${DIND_PROVISIONER_ENGINE_TIMEOUT:-60}"
PROBE_IMAGE=dind-provisioner/busybox:local
SANDBOX_SETUP="$DP_ROOT/toolchain/sandbox-runtime/install.sh"

answers() { have docker && timeout 20 docker version >/dev/null 2>&1; }

default_host() {
  case "${DOCKER_HOST:-}" in
    "" | unix:///var/run/docker.sock | unix:///run/docker.sock) return 0 ;;
    *) return 1 ;;
  esac
}

alive_dockerd() { [ -n "${1:-}" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = dockerd ]; }

# Pid of the dockerd this script started, if it still runs.
our_pid() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  alive_dockerd "$pid" && echo "$pid"
}

log_tail() { tail -n 20 "$LOG" 2>/dev/null | sed 's/^/    /' >&2 || true; }

wait_ready() { # pid
  local pid="$1" deadline=$((SECONDS + TIMEOUT))
  until answers; do
    if ! alive_dockerd "$pid"; then
      log "dockerd (pid $pid) exited; last lines of $LOG:"
      log_tail
      die "dockerd did not start"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "dockerd (pid $pid) does not answer after ${TIMEOUT}s; last lines of $LOG:"
      log_tail
      die "timed out waiting for dockerd"
    fi
    sleep 0.2
  done
}

# Pidfiles left by a dockerd/containerd that is gone (machine reused, process
# killed): dockerd refuses to start if the recorded pid now names any process.
remove_stale_pidfiles() {
  local f comm pid
  for f in "$DOCKERD_PIDFILE":dockerd /var/run/docker/containerd/containerd.pid:containerd; do
    comm="${f##*:}" f="${f%:*}"
    [ -e "$f" ] || continue
    pid="$(cat "$f" 2>/dev/null || true)"
    if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
      log "removing stale $f"
      rm -f "$f"
    fi
  done
}

start_dockerd() {
  mkdir -p "$ENGINE_DIR"
  rm -f "$PROBED"
  remove_stale_pidfiles
  printf '\n=== %s engine.sh starting dockerd\n' "$(date -Is)" >>"$LOG"
  # setsid: its own session, so it outlives this script and its caller's job.
  setsid dockerd --pidfile="$DOCKERD_PIDFILE" </dev/null >>"$LOG" 2>&1 9>&- &
  local pid=$! t0=$EPOCHREALTIME
  echo "$pid" >"$PIDFILE"
  log "started dockerd (pid $pid, log $LOG); waiting for it to answer"
  wait_ready "$pid"
  # setsid execs dockerd in place here, but trust dockerd's own pidfile if it differs.
  local real
  real="$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)"
  if alive_dockerd "$real" && [ "$real" != "$pid" ]; then echo "$real" >"$PIDFILE"; fi
  log "dockerd $(docker version -f '{{.Server.Version}}' 2>/dev/null) answers after $(since "$t0") (script: $(elapsed))"
}

stop_dockerd() { # pid
  local pid="$1" deadline=$((SECONDS + 30))
  kill -TERM "$pid" 2>/dev/null || return 0
  while alive_dockerd "$pid"; do
    [ "$SECONDS" -lt "$deadline" ] || die "dockerd (pid $pid) did not stop within 30s"
    sleep 0.2
  done
}

install_engine() {
  log "dockerd not found: installing Debian's docker.io (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2 || die "apt-get update failed"
  # Recommends skipped: apparmor/needrestart/cgroupfs-mount are for systemd or
  # AppArmor hosts; ca-certificates is kept for registries over TLS.
  local extra=""
  dpkg -s ca-certificates >/dev/null 2>&1 || extra=ca-certificates
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends docker.io $extra >&2 \
    || die "apt-get install docker.io failed"
  have dockerd || die "docker.io installed but dockerd is not on PATH"
}

# The sandbox wrapper registered earlier must still exist, or no container starts.
check_sandbox_runtime() {
  local path
  [ -s /etc/docker/daemon.json ] && have jq || return 0
  path="$(jq -r '.runtimes["dind-provisioner-sandbox"].path // empty' /etc/docker/daemon.json 2>/dev/null)" || return 0
  if [ -n "$path" ] && [ ! -x "$path" ]; then
    log "daemon.json names the sandbox runtime $path, which is missing: reinstalling it"
    "$SANDBOX_SETUP" || die "sandbox runtime setup failed"
  fi
}

probe_run() { docker run --rm --privileged "$PROBE_IMAGE" true 2>&1; }

probe_exec() {
  local name="dind-provisioner-probe-$$" out rc=0
  out="$(docker run -d --privileged --name "$name" "$PROBE_IMAGE" sleep 60 2>&1)" || rc=$?
  if [ "$rc" = 0 ]; then
    out="$(docker exec "$name" true 2>&1)" || rc=$?
  fi
  docker rm -f "$name" >/dev/null 2>&1 || true
  [ "$rc" = 0 ] || { printf '%s\n' "$out"; return 1; }
}

probe() { # pid of our dockerd
  local pid="$1" out
  "$DP_ROOT/toolchain/steps/images.sh" busybox || die "could not provide the probe image $PROBE_IMAGE"
  if out="$(probe_run)"; then
    log "privileged probe passed"
  elif grep -q 'unable to apply caps' <<<"$out"; then
    log "privileged probe failed with the capability error:"
    grep 'unable to apply caps' <<<"$out" | head -n 2 | sed 's/^/    /' >&2
    log "applying the SANDBOX-ONLY workaround toolchain/sandbox-runtime (runc wrapper dropping capabilities missing from the bounding set)"
    "$SANDBOX_SETUP" || die "sandbox runtime setup failed"
    log "restarting dockerd (pid $pid) to load the runtime"
    stop_dockerd "$pid"
    start_dockerd
    pid="$(our_pid)" || die "restarted dockerd is not running"
    out="$(probe_run)" || { printf '%s\n' "$out" >&2; die "privileged probe still fails with the sandbox runtime"; }
    out="$(probe_exec)" || { printf '%s\n' "$out" >&2; die "docker exec into a privileged container still fails"; }
    log "privileged probe (run + exec) passes with the sandbox runtime"
  else
    printf '%s\n' "$out" | tail -n 5 | sed 's/^/    /' >&2
    die "privileged probe failed (not the known capability error)"
  fi
  echo "$pid" >"$PROBED"
}

# --- 1. already answering ----------------------------------------------------
needs_probe() { # our dockerd runs (pid on stdout) and its probe never passed
  local pid
  default_host && pid="$(our_pid)" && [ "$(cat "$PROBED" 2>/dev/null)" != "$pid" ] && echo "$pid"
}
lock() { mkdir -p "$ENGINE_DIR"; exec 9>"$ENGINE_DIR/.lock"; flock 9; }

if answers; then
  if needs_probe >/dev/null; then
    lock
    if pid="$(needs_probe)"; then
      log "dockerd started here (pid $pid) was never probed: probing"
      probe "$pid"
    fi
  fi
  log "docker engine answers ($(elapsed))"
  exit 0
fi

# --- 2. start one ------------------------------------------------------------
# One engine.sh at a time past this point (colleagues share the machine).
lock
if answers; then
  log "docker engine answers (started meanwhile by another run, $(elapsed))"
  exit 0
fi
default_host || die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine, or unset DOCKER_HOST to let this script start a local one"
if [ "$(id -u)" != 0 ] || [ ! -r /etc/debian_version ] || ! have apt-get; then
  die "no Docker engine answers. Install and start Docker Engine (Debian/Ubuntu: apt-get install docker.io; others: https://docs.docker.com/engine/install/), or set DOCKER_HOST; this script can only install it on Debian as root"
fi
have dockerd || install_engine
have docker || die "the docker CLI is missing (Debian: apt-get install docker.io)"

existing="$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)"
if alive_dockerd "$existing"; then
  # A dockerd runs but does not answer yet (starting, or started by someone else).
  log "a dockerd (pid $existing) is running but not answering yet: waiting for it"
  wait_ready "$existing"
  if [ "$(our_pid)" = "$existing" ] && [ "$(cat "$PROBED" 2>/dev/null)" != "$existing" ]; then
    probe "$existing"
  fi
  log "docker engine answers ($(elapsed))"
  exit 0
fi

check_sandbox_runtime
start_dockerd
pid="$(our_pid)" || die "dockerd exited right after starting; see $LOG"
probe "$pid"
log "docker engine ready ($(elapsed))"
