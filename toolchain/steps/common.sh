# shellcheck shell=bash disable=SC2034
# Shared helpers for toolchain/steps/*.sh. Source it; do not execute it.
#
#   DP_CACHE   machine-local cache, outside the repository:
#              ${DIND_PROVISIONER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner}
#   DP_ROOT    repository root (this file lives in toolchain/steps/)
#   log MSG    one progress line on stderr, prefixed with the calling script's name
#   die MSG    log MSG and exit 1
#   have CMD   true when CMD is on PATH
#   elapsed    seconds since the calling script started
#   since T0   seconds since T0 (a saved $EPOCHREALTIME)
#   print_path_args ARGS...   sets print_path=1 when ARGS is --print-path, dies on anything else
#   hold_lock NAME            waits for and holds $DP_CACHE/locks/NAME.lock (fd 9) until exit
#   find_go WHAT              sets GO_BIN to the Go toolchain, or dies saying WHAT needs it
#   tool_key DIR WORDS...     16 hex digits over the calling script's contents, every file under
#                             DIR (a toolchain/modules/ module), WORDS and the machine: a build's cache key
#   debian_root DIR PACKAGES...  a root filesystem in DIR/root of Debian packages (with their
#                             libraries named among PACKAGES) and ca-certificates' bundle, made by
#                             `apt-get download` + `dpkg-deb -x` (no debootstrap); docs left out

DP_CACHE="${DIND_PROVISIONER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dind-provisioner}"
DP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DP_T0="${DP_T0:-${EPOCHREALTIME:-0}}"
DP_NAME="${DP_NAME:-$(basename "${0%.sh}")}"

log() { printf '[%s] %s\n' "$DP_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
since() { awk -v a="$1" -v b="${EPOCHREALTIME:-0}" 'BEGIN { printf "%.1fs", b - a }'; }
elapsed() { since "$DP_T0"; }
print_path_args() {
  print_path=0
  for arg in "$@"; do
    case "$arg" in
      --print-path) print_path=1 ;;
      *) die "unknown argument: $arg" ;;
    esac
  done
}
tool_key() {
  local dir=$1
  shift
  { sha256sum <"$0"; (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); uname -m; printf '%s\n' "$@"; } |
    sha256sum | cut -c1-16
}
hold_lock() {
  mkdir -p "$DP_CACHE/locks"
  exec 9>"$DP_CACHE/locks/$1.lock"
  flock 9
}
debian_root() {
  local work=$1 root=$1/root deb
  shift
  { [ "$(id -u)" = 0 ] && have apt-get; } || die "extracting Debian's $* needs Debian's apt as root"
  if ! (cd "$work" && apt-get download -o APT::Sandbox::User=root "$@" ca-certificates >"$work/apt.log" 2>&1); then
    log "apt-get download failed; apt-get update, then once more"
    apt-get update >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; die "apt-get update failed"; }
    (cd "$work" && apt-get download -o APT::Sandbox::User=root "$@" ca-certificates >"$work/apt.log" 2>&1) ||
      { tail -n 20 "$work/apt.log" >&2; die "apt-get download $* failed"; }
  fi
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$root"; done
  # What update-ca-certificates would make: one bundle of Debian's CAs.
  mkdir -p "$root/etc/ssl/certs" "$root/tmp"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "${root:?}/usr/share/doc" "${root:?}/usr/share/man" "${root:?}/usr/share/locale" "${root:?}/usr/share/zoneinfo" \
    "${root:?}/usr/share/lintian" "${root:?}/etc/init.d" "${root:?}/lib/systemd"
  chmod 1777 "$root/tmp"
  # Debian's usrmerge layout: the dynamic loader is looked up at /lib64.
  [ -e "$root/lib64" ] || ln -s usr/lib64 "$root/lib64"
}
find_go() {
  GO_BIN=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$GO_BIN" ] || die "Go is required to build $1"
}
