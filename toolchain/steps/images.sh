#!/usr/bin/env bash
# Provide the two local images the tests and the local stack use (fixed tags):
#   dind-provisioner/dind:local     Docker-in-Docker, docker:dind entrypoint contract; its docker
#                                   CLI has the buildx and compose plugins, as docker:dind's has
#   dind-provisioner/busybox:local  tiny workload (sh, nc, wget, httpd, sleep)
#
# Usage: images.sh [busybox] [dind]      (default: both)
#
# Each image carries LABEL dind-provisioner.recipe=<hash of this file; for dind, also the
# plugins' key>; an image with the right label is left alone (warm run: one `docker image
# inspect`). Otherwise: if a registry answers, pull docker:27-dind / busybox:1.36 and tag
# them; else build from Debian packages (the dind rootfs by debootstrap, cached
# as a tarball under $DP_CACHE/images/ so it is made once per machine) and
# `docker import` it; the dind image then gets a second layer with the docker CLI plugins
# built by docker-cli-plugins.sh (only then: a pulled image has its own).
#
# Environment: DIND_PROVISIONER_CACHE, DOCKER_HOST,
#   DIND_PROVISIONER_PULL=auto|never   try a registry first (default auto)
#   DIND_PROVISIONER_DEBIAN_MIRROR     default: the mirror apt uses here
#   DIND_PROVISIONER_DEBIAN_SUITE      the dind image's suite; default: trixie (Engine 26.1, a current
#                                      engine; bookworm's is 20.10, which has no start_interval)
set -euo pipefail
# shellcheck disable=SC2034 # read by common.sh
DP_NAME=images
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIND_TAG=dind-provisioner/dind:local
BUSYBOX_TAG=dind-provisioner/busybox:local
DIND_UPSTREAM=docker:27-dind
BUSYBOX_UPSTREAM=busybox:1.36
LABEL_KEY=dind-provisioner.recipe
RECIPE="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
PLUGINS_SH="$(dirname "${BASH_SOURCE[0]}")/docker-cli-plugins.sh"
DIND_RECIPE="$(echo "$RECIPE $(bash "$PLUGINS_SH" --key)" | sha256sum | cut -c1-16)"
# Where the docker CLI looks for plugins (one of its built-in directories).
CLI_PLUGINS_DIR=usr/local/libexec/docker/cli-plugins
IMG_CACHE="$DP_CACHE/images"
PULL="${DIND_PROVISIONER_PULL:-auto}"
SUITE="${DIND_PROVISIONER_DEBIAN_SUITE:-trixie}"
DIND_PACKAGES=docker.io,iptables,ca-certificates,procps
# From trixie on, the docker CLI (the health check's) is a package of its own.
case "$SUITE" in buster | bullseye | bookworm) ;; *) DIND_PACKAGES="$DIND_PACKAGES,docker-cli" ;; esac

want=("$@")
[ "${#want[@]}" -gt 0 ] || want=(busybox dind)
for w in "${want[@]}"; do
  case "$w" in busybox | dind) ;; *) die "unknown image '$w' (expected: busybox, dind)" ;; esac
done

# --- warm path: is each wanted image current? ----------------------------------
# Current = label matches the recipe, or (pulled images) its id is the one
# recorded in $IMG_CACHE/pulled-<name> for this recipe.
tag_of() { if [ "$1" = dind ]; then echo "$DIND_TAG"; else echo "$BUSYBOX_TAG"; fi; }
recipe_of() { if [ "$1" = dind ]; then echo "$DIND_RECIPE"; else echo "$RECIPE"; fi; }
is_current() { # name
  local tag info id label
  tag="$(tag_of "$1")"
  info="$(docker image inspect -f "{{.Id}} {{index .Config.Labels \"$LABEL_KEY\"}}" "$tag" 2>/dev/null)" || return 1
  read -r id label <<<"$info"
  [ "$label" = "$(recipe_of "$1")" ] && return 0
  [ "$(cat "$IMG_CACHE/pulled-$1" 2>/dev/null)" = "$(recipe_of "$1") $id" ]
}

docker version >/dev/null 2>&1 || die "no Docker engine answers: run toolchain/steps/engine.sh first"

todo=()
for w in "${want[@]}"; do is_current "$w" || todo+=("$w"); done
if [ "${#todo[@]}" = 0 ]; then
  log "images up to date: ${want[*]} ($(elapsed))"
  exit 0
fi

mkdir -p "$IMG_CACHE"
exec 9>"$IMG_CACHE/.lock"
flock 9 # one builder at a time; re-check what a concurrent run may have done
todo2=()
for w in "${todo[@]}"; do is_current "$w" || todo2+=("$w"); done
todo=("${todo2[@]}")
[ "${#todo[@]}" -gt 0 ] || { log "images up to date ($(elapsed))"; exit 0; }

WORK="$(mktemp -d "$IMG_CACHE/tmp.XXXXXX")"
plugin_builder="" # the container add_cli_plugins commits, removed on any exit
trap 'rm -rf "$WORK"; [ -z "$plugin_builder" ] || docker rm -f -v "$plugin_builder" >/dev/null 2>&1' EXIT

# Run an apt-get command; if it fails, apt-get update (once) and retry it.
apt_updated=""
apt_do() { # log-file apt-get-args...
  local logf="$1"; shift
  { [ "$(id -u)" = 0 ] && have apt-get; } || die "building the images needs Debian's apt as root (or a registry to pull $DIND_UPSTREAM and $BUSYBOX_UPSTREAM from)"
  DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$logf" 2>&1 && return 0
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    apt-get update >"$logf" 2>&1 || { tail -n 20 "$logf" >&2; die "apt-get update failed"; }
    apt_updated=1
    DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$logf" 2>&1 && return 0
  fi
  tail -n 20 "$logf" >&2
  die "apt-get $* failed"
}

# --- pull, if a registry answers -----------------------------------------------
registry_ok=""
try_pull() { # name upstream
  local name="$1" upstream="$2" id
  [ "$PULL" != never ] || return 1
  if [ -z "$registry_ok" ]; then
    # A recent failure is remembered for 10 minutes so repeated cold runs stay fast.
    if [ -n "$(find "$IMG_CACHE/registry-unreachable" -mmin -10 2>/dev/null)" ]; then
      registry_ok=no
    fi
  fi
  [ "$registry_ok" != no ] || return 1
  log "trying: docker pull $upstream"
  if timeout 60 docker pull -q "$upstream" >"$WORK/pull.log" 2>&1; then
    registry_ok=yes
    docker tag "$upstream" "$(tag_of "$name")"
    id="$(docker image inspect -f '{{.Id}}' "$upstream")"
    echo "$(recipe_of "$name") $id" >"$IMG_CACHE/pulled-$name"
    log "pulled $upstream as $(tag_of "$name")"
    return 0
  fi
  registry_ok=no
  touch "$IMG_CACHE/registry-unreachable"
  log "no registry ($(tail -n 1 "$WORK/pull.log" | cut -c1-160)): building locally"
  return 1
}

# Imported images have no config: set what the images need.
IMPORT_PATH='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# --- busybox: Debian's busybox-static plus applet links -------------------------
build_busybox() {
  local tarball="$IMG_CACHE/busybox-rootfs-$RECIPE.tar" root="$WORK/busybox"
  if [ ! -s "$tarball" ]; then
    log "building $BUSYBOX_TAG from Debian's busybox-static"
    (cd "$WORK" && apt_do "$WORK/download.log" download -o APT::Sandbox::User=root busybox-static)
    mkdir -p "$root"
    dpkg-deb -x "$WORK"/busybox-static_*.deb "$root"
    rm -rf "${root:?}/usr/share"
    local bb="$root/bin/busybox" applet applets
    [ -x "$bb" ] || die "busybox-static has no /bin/busybox"
    applets=" $("$bb" --list | tr '\n' ' ')"
    for applet in sh nc wget httpd sleep true; do
      [[ "$applets" == *" $applet "* ]] || die "busybox-static lacks the '$applet' applet"
    done
    # Applet links (bin/sh, usr/bin/wget, ...) -> /bin/busybox, made by busybox itself.
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,proc,sys,dev,var/www,home,tmp}
    chroot "$root" /bin/busybox --install -s || die "busybox --install failed"
    [ -L "$root/bin/sh" ] || die "busybox --install made no /bin/sh"
    chmod 1777 "$root/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$root" -cf "$tarball.tmp" .
    mv -f "$tarball.tmp" "$tarball"
  else
    log "using cached rootfs $tarball"
  fi
  docker import -m "dind-provisioner busybox ($RECIPE)" \
    -c "$IMPORT_PATH" -c 'CMD ["sh"]' -c "LABEL $LABEL_KEY=$RECIPE" \
    "$tarball" "$BUSYBOX_TAG" >/dev/null || die "docker import $BUSYBOX_TAG failed"
  rm -f "$IMG_CACHE/pulled-busybox"
  log "imported $BUSYBOX_TAG ($(elapsed))"
}

# --- dind: debootstrap rootfs + entrypoint ----------------------------------------
debian_mirror() {
  if [ -n "${DIND_PROVISIONER_DEBIAN_MIRROR:-}" ]; then echo "$DIND_PROVISIONER_DEBIAN_MIRROR"; return; fi
  local uri
  # deb822 sources (URIs: ...), then one-line sources (deb [opts] URI suite ...); skip security.
  uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' | grep -v security | head -n 1 || true)"
  if [ -z "$uri" ]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' | grep -v security | head -n 1 || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# The official docker:dind contract: ENTRYPOINT dockerd-entrypoint.sh; with no
# arguments or a first argument starting with "-", run dockerd with them (plus
# default --host flags); with "dockerd ...", remove stale pidfiles and run it
# through the dind wrapper; anything else is exec'd as is.
entrypoint_sh() {
  cat <<'EOF'
#!/bin/sh
# dind-provisioner/dind:local entrypoint (same contract as docker:dind's).
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	# No arguments, or only dockerd flags: run dockerd with default endpoints.
	sock='unix:///var/run/docker.sock'
	case "${DOCKER_HOST:-}" in unix://*) sock="$DOCKER_HOST" ;; esac
	certs="${DOCKER_TLS_CERTDIR:-}"
	if [ -n "$certs" ] && [ -s "$certs/server/ca.pem" ] && [ -s "$certs/server/cert.pem" ] && [ -s "$certs/server/key.pem" ]; then
		set -- dockerd --host="$sock" --host=tcp://0.0.0.0:2376 --tlsverify \
			--tlscacert "$certs/server/ca.pem" --tlscert "$certs/server/cert.pem" \
			--tlskey "$certs/server/key.pem" "$@"
	else
		# (Unlike docker:dind, no certificates are generated here: pass TLS flags.)
		set -- dockerd --host="$sock" --host=tcp://0.0.0.0:2375 "$@"
	fi
fi

if [ "$1" = dockerd ]; then
	# A container stopped uncleanly keeps its pidfile: dockerd would refuse to start.
	find /run /var/run -iname 'docker*.pid' -delete 2>/dev/null || :
	# Hosts without nf_tables: fall back to iptables-legacy.
	if ! iptables -nL >/dev/null 2>&1 && iptables-legacy -nL >/dev/null 2>&1; then
		export PATH="/usr/local/sbin/.iptables-legacy:$PATH"
	fi
	case " $* " in
	*" --containerd"*) set -- /usr/local/bin/dind "$@" ;;
	*) set -- /usr/local/bin/dind /usr/local/bin/with-containerd "$@" ;;
	esac
fi

exec "$@"
EOF
}

# Starts containerd, then dockerd with it. dockerd's own supervisor (Engine 23+) first looks for
# the containerd it starts a second later (measured: Engine 26.1 answered 1.6 s after the
# container started, 0.7 s like this). Same paths as dockerd's managed containerd, so its state
# stays on the volume; dockerd, which exec replaces this script with, remains PID 1.
with_containerd_sh() {
  cat <<'EOF'
#!/bin/sh
# with-containerd dockerd ARGS...: starts containerd, waits for its socket, then execs dockerd with it.
set -e
sock=/var/run/docker/containerd/containerd.sock
rm -f "$sock"
containerd --root /var/lib/docker/containerd/daemon --state /var/run/docker/containerd/daemon --address "$sock" &
i=0
while [ ! -S "$sock" ] && [ "$i" -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
exec "$@" --containerd="$sock"
EOF
}

# Equivalent of moby's hack/dind: prepare the container to run dockerd
# (securityfs, /tmp, cgroup v2 nesting, shared mount propagation).
dind_sh() {
  cat <<'EOF'
#!/bin/sh
# dind: prepare a --privileged container for a nested dockerd, then exec "$@".
set -e
export container=docker

if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
	mount -t securityfs none /sys/kernel/security 2>/dev/null || \
		echo >&2 'dind: could not mount /sys/kernel/security (AppArmor detection may be off; is the container --privileged?)'
fi

if ! mountpoint -q /tmp; then
	mount -t tmpfs none /tmp 2>/dev/null || :
fi

# cgroup v2 (unified /sys/fs/cgroup): move our processes into a leaf group and
# delegate all controllers, so nested containers get their own cgroups.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	mkdir -p /sys/fs/cgroup/init
	xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
	sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control
fi

mount --make-rshared / 2>/dev/null || :

[ "$#" -gt 0 ] || { echo >&2 'dind: no command given'; exit 1; }
exec "$@"
EOF
}

build_dind() {
  local mirror key tarball root
  mirror="$(debian_mirror)"
  # The rootfs depends only on these inputs (not on the rest of this file).
  key="$({
    echo "$SUITE $mirror $DIND_PACKAGES"
    entrypoint_sh
    dind_sh
    with_containerd_sh
  } | sha256sum | cut -c1-16)"
  tarball="$IMG_CACHE/dind-rootfs-$key.tar"
  root="$WORK/dind"
  if [ ! -s "$tarball" ]; then
    if ! have debootstrap; then
      log "installing debootstrap"
      apt_do "$WORK/apt.log" install -y --no-install-recommends debootstrap
    fi
    log "debootstrap $SUITE from $mirror (minbase + $DIND_PACKAGES); log: $IMG_CACHE/debootstrap.log"
    debootstrap --variant=minbase --include="$DIND_PACKAGES" "$SUITE" "$root" "$mirror" >"$IMG_CACHE/debootstrap.log" 2>&1 \
      || { tail -n 20 "$IMG_CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
    log "debootstrap done ($(elapsed))"
    entrypoint_sh >"$root/usr/local/bin/dockerd-entrypoint.sh"
    dind_sh >"$root/usr/local/bin/dind"
    with_containerd_sh >"$root/usr/local/bin/with-containerd"
    chmod 0755 "$root/usr/local/bin/dockerd-entrypoint.sh" "$root/usr/local/bin/dind" "$root/usr/local/bin/with-containerd"
    mkdir -p "$root/usr/local/sbin/.iptables-legacy"
    local f
    for f in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
      ln -sfT "/usr/sbin/${f/tables/tables-legacy}" "$root/usr/local/sbin/.iptables-legacy/$f"
    done
    # Not needed at run time: package caches, lists, docs.
    rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
      "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log \
      "$root"/etc/hostname
    rm -rf "$root/var/lib/docker" && mkdir -p "$root/var/lib/docker"
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
    mv -f "$tarball.tmp" "$tarball"
    rm -rf "$root"
    # Older rootfs tarballs are superseded.
    find "$IMG_CACHE" -maxdepth 1 -name 'dind-rootfs-*.tar' ! -name "dind-rootfs-$key.tar" -delete
  else
    log "using cached rootfs $tarball"
  fi
  local base
  base="$(docker import -m "dind-provisioner dind rootfs $key" \
    -c "$IMPORT_PATH" \
    -c 'ENTRYPOINT ["/usr/local/bin/dockerd-entrypoint.sh"]' -c 'CMD []' \
    -c 'VOLUME /var/lib/docker' -c 'EXPOSE 2375 2376' \
    "$tarball")" || die "docker import of $tarball failed"
  add_cli_plugins "$base"
  rm -f "$IMG_CACHE/pulled-dind"
  log "imported $DIND_TAG ($(elapsed))"
}

# The buildx and compose plugins, as a layer of their own over the rootfs (a new plugin build
# leaves the rootfs layer as it is), committed as $DIND_TAG with the recipe label.
add_cli_plugins() { # base-image-id
  local plugins
  mapfile -t plugins < <(bash "$PLUGINS_SH" --print-path)
  [ "${#plugins[@]}" = 2 ] || die "docker-cli-plugins.sh failed"
  plugin_builder="$(docker create --name "dind-provisioner-dind-build-$$" "$1")" || die "docker create $1 failed"
  # File entries only: the extraction makes the missing directories (0755, root).
  tar -c --owner=0 --group=0 --mode=0755 --transform "s,^,$CLI_PLUGINS_DIR/," \
    -C "$(dirname "${plugins[0]}")" "$(basename "${plugins[0]}")" -C "$(dirname "${plugins[1]}")" "$(basename "${plugins[1]}")" |
    docker cp - "$plugin_builder:/" || die "copying the docker CLI plugins into $plugin_builder failed"
  docker commit -m "dind-provisioner dind ($DIND_RECIPE): docker CLI plugins" -c "LABEL $LABEL_KEY=$DIND_RECIPE" \
    "$plugin_builder" "$DIND_TAG" >/dev/null || die "docker commit $DIND_TAG failed"
  docker rm -v "$plugin_builder" >/dev/null && plugin_builder="" # -v: the anonymous volume of VOLUME /var/lib/docker
}

for w in "${todo[@]}"; do
  case "$w" in
    busybox) try_pull busybox "$BUSYBOX_UPSTREAM" || build_busybox ;;
    dind) try_pull dind "$DIND_UPSTREAM" || build_dind ;;
  esac
done
# Superseded busybox rootfs tarballs.
find "$IMG_CACHE" -maxdepth 1 -name 'busybox-rootfs-*.tar' ! -name "busybox-rootfs-$RECIPE.tar" -delete
log "images ready: ${want[*]} ($(elapsed))"
