#!/bin/bash
# kube-net: the test cluster's pod network agent, as kindnetd does it. Every few seconds it reads
# the Node objects; for this node it writes the bridge CNI configuration with the pod range the
# controller manager gave it (until then containerd reports the network not ready, and so does
# the node), and for every other node it routes that node's pod range via the node's address.
# Pods' traffic leaving the cluster's pod range is masqueraded to the node's address.
set -euo pipefail
conf=/etc/kube-lane
# shellcheck source=/dev/null
source "$conf/config.env"
token=$(cat "$conf/pki/kube-proxy.token")
cni=/etc/cni/net.d/10-kube-lane.conflist

iptables -t nat -C POSTROUTING -s "$POD_CIDR" ! -d "$POD_CIDR" -m comment --comment kube-net -j MASQUERADE 2>/dev/null ||
  iptables -t nat -A POSTROUTING -s "$POD_CIDR" ! -d "$POD_CIDR" -m comment --comment kube-net -j MASQUERADE

while :; do
  if nodes=$(curl -sf --cacert "$conf/pki/ca.crt" -H "Authorization: Bearer $token" "https://$API_ADDRESS/api/v1/nodes"); then
    while read -r name cidr address; do
      [ "$cidr" != null ] || continue
      if [ "$name" = "$NODE_NAME" ]; then
        want=$(jq -n --arg subnet "$cidr" '{cniVersion: "1.0.0", name: "kube-lane", plugins: [
          {type: "bridge", bridge: "cni0", isGateway: true, ipMasq: false, hairpinMode: true,
           ipam: {type: "host-local", ranges: [[{subnet: $subnet}]], routes: [{dst: "0.0.0.0/0"}]}},
          {type: "portmap", capabilities: {portMappings: true}}]}')
        if [ "$(cat "$cni" 2>/dev/null)" != "$want" ]; then
          mkdir -p "$(dirname "$cni")" && printf '%s\n' "$want" >"$cni.tmp" && mv "$cni.tmp" "$cni"
          echo "pod range $cidr: wrote $cni"
        fi
      elif [ "$address" != null ] && ! ip route show "$cidr" | grep -q "via $address "; then
        ip route replace "$cidr" via "$address"
        echo "route $cidr via $address ($name)"
      fi
    done < <(jq -r '.items[] | [.metadata.name, (.spec.podCIDR // "null"),
      ((.status.addresses // []) | map(select(.type == "InternalIP")) | .[0].address // "null")] | join(" ")' <<<"$nodes")
  fi
  sleep 3
done
