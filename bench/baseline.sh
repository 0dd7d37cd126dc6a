#!/usr/bin/env bash
# The hand-wired alternative to the provisioner, for the benchmarks: plain docker CLI calls that
# build the reference topology (mutual-TLS DinD host, a preloaded image, three nested containers,
# one DooD client) and wait for the same readiness. It stands in for the physical limit.
#
#   baseline.sh up PREFIX PORT           create (timed by the caller)
#   baseline.sh down PREFIX              remove everything PREFIX names
#   baseline.sh fleet-up PREFIX PORT N   N such DinD hosts (no DooD client), as the fleet stack has
#                                        them, all at once with & and wait as a person would script it:
#                                        host I (from 1) is PREFIX-I on port PORT+I-1
#   baseline.sh fleet-down PREFIX N      remove what fleet-up made
set -euo pipefail
action="$1" prefix="$2"
dind_image=dind-provisioner/dind:local
workload_image=dind-provisioner/busybox:local

# One DinD host named NAME on loopback port PORT, in a subshell of its own (it changes directory).
host() (
    local name="$1" port="$2"
    local certs="/tmp/$name-certs"
    # Certificates: a CA, a server certificate for the endpoint, a client certificate.
    mkdir -p "$certs" && cd "$certs"
    openssl genrsa -out ca-key.pem 2048 2>/dev/null
    openssl req -x509 -new -key ca-key.pem -sha256 -days 3650 -subj "/CN=$name CA" -out ca.pem
    openssl genrsa -out server-key.pem 2048 2>/dev/null
    openssl req -new -key server-key.pem -subj "/CN=$name-dind" -out server.csr
    printf 'subjectAltName=DNS:localhost,DNS:%s-dind,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' "$name" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -sha256 -extfile server.ext -out cert-server.pem 2>/dev/null
    openssl genrsa -out key.pem 2048 2>/dev/null
    openssl req -new -key key.pem -subj /CN=client -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -sha256 -extfile client.ext -out cert.pem 2>/dev/null
    mkdir -p server && cp ca.pem server/ca.pem && mv cert-server.pem server/cert.pem && mv server-key.pem server/key.pem

    # The DinD host: privileged, storage on a volume, TLS endpoint on loopback.
    docker volume create "$name-dind-docker" >/dev/null
    docker run -d --privileged --name "$name-dind" -e DOCKER_TLS_CERTDIR= \
        -v "$name-dind-docker:/var/lib/docker" -v "$certs/server:/etc/docker/dind-tls:ro" \
        -p "127.0.0.1:$port:2376" "$dind_image" \
        dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify \
        --tlscacert=/etc/docker/dind-tls/ca.pem --tlscert=/etc/docker/dind-tls/cert.pem --tlskey=/etc/docker/dind-tls/key.pem >/dev/null
    local inner=(--host "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$certs/ca.pem" --tlscert "$certs/cert.pem" --tlskey "$certs/key.pem")
    until docker "${inner[@]}" version >/dev/null 2>&1; do sleep 0.1; done

    # Preload, then the nested workloads.
    docker save "$workload_image" | docker "${inner[@]}" load -q >/dev/null
    docker "${inner[@]}" network create app >/dev/null
    for n in 1 2 3; do
        docker "${inner[@]}" run -d --name "web-$n" --network app -p "808$n:8080" "$workload_image" \
            sh -c "echo web-$n > /index.html && exec httpd -f -p 8080 -h /" >/dev/null
    done
)

remove_host() {
    docker rm -f -v "$1-dind" >/dev/null 2>&1 || true
    docker volume rm "$1-dind-docker" >/dev/null 2>&1 || true
    rm -rf "/tmp/$1-certs"
}

case "$action" in
up)
    host "$prefix" "$3"
    # The DooD client.
    docker run -d --name "$prefix-agent" -v /var/run/docker.sock:/var/run/docker.sock \
        --group-add "$(stat -c %g /var/run/docker.sock)" -e DOCKER_HOST=unix:///var/run/docker.sock \
        "$dind_image" sleep infinity >/dev/null
    ;;
down)
    # -v: the client's image (the dind image) declares VOLUME /var/lib/docker, an unnamed volume otherwise left behind.
    docker rm -f -v "$prefix-agent" >/dev/null 2>&1 || true
    remove_host "$prefix"
    ;;
fleet-up)
    pids=()
    for i in $(seq 1 "$4"); do
        host "$prefix-$i" $(($3 + i - 1)) &
        pids+=($!)
    done
    # Wait for each job by its id, so that one failed host fails the script.
    status=0
    for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
    exit "$status"
    ;;
fleet-down)
    for i in $(seq 1 "$3"); do remove_host "$prefix-$i" & done
    wait
    ;;
*)
    echo "usage: baseline.sh up|down|fleet-up|fleet-down PREFIX ..." >&2
    exit 2
    ;;
esac
