// dood-proxy: a Docker socket that applies a client's access policy before the daemon sees a
// request. See README.md, "Least-privilege DooD".
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

const (
	defaultListen   = "/run/dood/docker.sock"
	defaultUpstream = "/var/run/docker.sock"
)

func env(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func main() {
	log.SetFlags(0)
	listen := env("DOOD_LISTEN", defaultListen)
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(listen))
	}
	policy, err := ParsePolicy([]byte(os.Getenv("DOOD_POLICY")))
	if err != nil {
		log.Fatalf("dood-proxy: DOOD_POLICY: %v", err)
	}
	listener, err := listenSocket(listen, os.Getenv("DOOD_SOCKET_GID"))
	if err != nil {
		log.Fatalf("dood-proxy: %v", err)
	}
	log.Printf("dood-proxy: client %s on %s, policy privileged=%t hostNamespaces=%t binds=%v scope=%s",
		policy.Client, listen, policy.Privileged, policy.HostNamespaces, policy.Binds, policy.Scope)
	server := &http.Server{Handler: NewProxy(policy, env("DOOD_UPSTREAM", defaultUpstream)), ReadHeaderTimeout: 30 * time.Second}
	log.Fatal(server.Serve(listener))
}

// listenSocket replaces a socket left by an earlier run; it is readable by root and, when given, one group.
func listenSocket(socket, gid string) (net.Listener, error) {
	_ = os.Remove(socket)
	listener, err := net.Listen("unix", socket)
	if err != nil {
		return nil, err
	}
	mode := os.FileMode(0o600)
	if gid != "" {
		group, err := strconv.Atoi(gid)
		if err != nil {
			return nil, fmt.Errorf("DOOD_SOCKET_GID: %v", err)
		}
		if err := os.Chown(socket, 0, group); err != nil {
			return nil, err
		}
		mode = 0o660
	}
	return listener, os.Chmod(socket, mode)
}

// healthcheck pings the daemon through the proxy's own socket (the image has no shell).
func healthcheck(socket string) int {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Dial: func(_, _ string) (net.Conn, error) { return net.Dial("unix", socket) },
	}}
	resp, err := client.Get("http://docker/_ping")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
