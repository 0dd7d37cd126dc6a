#!/bin/bash
# The Kubernetes tests' node image's entrypoint (dind-provisioner/kube-node:local): runs one
# machine of the test cluster, as kind's node image does, without systemd:
#   kube-node-entrypoint control-plane   etcd, kube-apiserver, kube-controller-manager, kube-scheduler
#   kube-node-entrypoint node            containerd, kubelet, kube-proxy and kube-net (pod routes)
# Its configuration is mounted at /etc/kube-lane (test/integration/fixtures/kube-cluster.sh writes
# it): config.env (this machine's name and address, the cluster's ranges), the PKI, kubeconfigs.
# Every program is supervised here: one that exits is started again after a second, and a
# SIGTERM stops them all, so `docker stop` and `docker start` act as a machine's shutdown and boot.
set -euo pipefail
role=${1:?usage: kube-node-entrypoint control-plane|node}
conf=/etc/kube-lane
# shellcheck source=/dev/null
source "$conf/config.env"
mkdir -p /var/log/kube-lane
log() { echo "[kube-node $NODE_NAME] $*" >&2; }

# Starts "$@" in the background under the name $1 (its log: /var/log/kube-lane/NAME.log), again
# whenever it exits.
supervise() {
  local name=$1
  shift
  ( while :; do
      "$@" >>"/var/log/kube-lane/$name.log" 2>&1 || true
      echo "--- $name exited $(date -u +%FT%TZ); starting it again" >>"/var/log/kube-lane/$name.log"
      sleep 1
    done ) &
}

stop_all() {
  log "stopping"
  kill -TERM 0 2>/dev/null || true
  wait || true
  exit 0
}
trap stop_all TERM INT

# cgroup v1 with a private cgroup namespace (docker run --cgroupns=private): the container's own
# group is the root here. The kubelet puts pods under /kubelet (cgroupRoot), made in every
# controller, cpuset with its CPUs and memory nodes, as kind's entrypoint does.
kubelet_cgroup_root() {
  local controller
  for controller in /sys/fs/cgroup/*/; do
    [ -d "$controller" ] && [ "$(stat -f -c %T "$controller")" = cgroupfs ] || continue
    mkdir -p "$controller/kubelet"
    if [ "$(basename "$controller")" = cpuset ]; then
      cat "$controller/cpuset.cpus" >"$controller/kubelet/cpuset.cpus"
      cat "$controller/cpuset.mems" >"$controller/kubelet/cpuset.mems"
    fi
  done
}

# iptables-nft where the kernel has nf_tables, else iptables-legacy (kube-proxy uses `iptables`).
select_iptables() {
  local mode=nft
  iptables-nft -nL >/dev/null 2>&1 || mode=legacy
  update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
  update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
}

control_plane() {
  local pki=$conf/pki
  supervise etcd etcd --name "$NODE_NAME" --data-dir /var/lib/etcd \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:2380"
  supervise kube-apiserver kube-apiserver --etcd-servers http://127.0.0.1:2379 \
    --advertise-address "$NODE_IP" --bind-address 0.0.0.0 --secure-port 6443 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --token-auth-file "$pki/tokens.csv" --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --allow-privileged --service-cluster-ip-range "$SERVICE_CIDR" \
    --default-not-ready-toleration-seconds "$TOLERATION_SECONDS" --default-unreachable-toleration-seconds "$TOLERATION_SECONDS"
  supervise kube-controller-manager kube-controller-manager --kubeconfig "$conf/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$conf/controller-manager.kubeconfig" --authorization-kubeconfig "$conf/controller-manager.kubeconfig" \
    --leader-elect=false --use-service-account-credentials \
    --allocate-node-cidrs --cluster-cidr "$POD_CIDR" --node-cidr-mask-size 24 --service-cluster-ip-range "$SERVICE_CIDR" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --node-monitor-grace-period "$NODE_GRACE"
  supervise kube-scheduler kube-scheduler --kubeconfig "$conf/scheduler.kubeconfig" \
    --authentication-kubeconfig "$conf/scheduler.kubeconfig" --authorization-kubeconfig "$conf/scheduler.kubeconfig" --leader-elect=false
}

node() {
  # kubelet's mounts (volumes, projected secrets) reach containerd's containers through propagation.
  mount --make-rshared /
  kubelet_cgroup_root
  select_iptables
  # The docker network's bridge hands pods' traffic to iptables only with this (kube-proxy needs it).
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || log "warning: cannot set net.bridge.bridge-nf-call-iptables"
  sysctl -qw net.ipv4.ip_forward=1
  # A restarted machine: what the last boot's processes left is gone with them.
  rm -f /run/containerd/containerd.sock
  supervise containerd containerd --config "$conf/containerd.toml"
  for _ in $(seq 100); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.1; done
  supervise kubelet kubelet --config "$conf/kubelet.yaml" --kubeconfig "$conf/kubelet.kubeconfig" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
  supervise kube-proxy kube-proxy --config "$conf/kube-proxy.yaml" --hostname-override "$NODE_NAME"
  supervise kube-net /usr/local/bin/kube-net
}

case "$role" in
  control-plane) control_plane ;;
  node) node ;;
  *) log "unknown role $role"; exit 2 ;;
esac
log "started ($role)"
# The supervisors run until the container is stopped.
while :; do wait || true; sleep 1; done
