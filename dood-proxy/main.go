// dood-proxy: a Docker socket that applies a client's access policy before the daemon sees a
// request. See README.md, "Least-privilege DooD".
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	if len(os.Args) > 1 && os.Args[1] == "cleanup" {
		os.Exit(cleanup(policy, os.Args[2:]))
	}
	gid, err := socketGroup(os.Getenv("DOOD_SOCKET_GID"))
	if err != nil {
		log.Fatalf("dood-proxy: DOOD_SOCKET_GID: %v", err)
	}
	proxy := newProxyFromEnv(policy, listen)
	listener, err := listenSocket(listen, gid)
	if err != nil {
		log.Fatalf("dood-proxy: %v", err)
	}
	log.Printf("dood-proxy: client %s on %s, policy privileged=%t hostNamespaces=%t binds=%v scope=%s",
		policy.Client, listen, policy.Privileged, policy.HostNamespaces, policy.Binds, policy.Scope)
	if builder := os.Getenv("DOOD_BUILDKIT_UPSTREAM"); builder != "" {
		go serveBuilder(policy, builder, env("DOOD_BUILDKIT_LISTEN", filepath.Join(filepath.Dir(listen), "buildkit.sock")), gid)
	}
	server := &http.Server{Handler: proxy, ReadHeaderTimeout: 30 * time.Second}
	log.Fatal(server.Serve(listener))
}

// newProxyFromEnv is the proxy the environment describes (see DoodPolicyProxy.ts).
func newProxyFromEnv(policy Policy, listen string) *Proxy {
	proxy := NewProxy(policy, env("DOOD_UPSTREAM", defaultUpstream))
	proxy.sockets = socketRewrite{hostDir: os.Getenv("DOOD_SOCKET_HOST_DIR"), daemon: os.Getenv("DOOD_DAEMON_SOCKET"), client: listen}
	if dir := os.Getenv("DOOD_STATE_DIR"); dir != "" {
		tags, err := openTagRecords(filepath.Join(dir, "tags.json"))
		if err != nil {
			log.Fatalf("dood-proxy: %v", err)
		}
		proxy.tags = tags
	}
	return proxy
}

// cleanup empties the client's scope (dood-proxy cleanup [--stop CONTAINER]) and says what it removed.
func cleanup(policy Policy, args []string) int {
	stop := ""
	if len(args) == 2 && args[0] == "--stop" {
		stop = args[1]
	} else if len(args) != 0 {
		log.Printf("usage: dood-proxy cleanup [--stop CONTAINER]")
		return 2
	}
	report, err := newProxyFromEnv(policy, env("DOOD_LISTEN", defaultListen)).Cleanup(stop)
	if err != nil {
		log.Printf("dood-proxy cleanup (client %s): %v", policy.Client, err)
		return 1
	}
	for _, line := range report {
		fmt.Println(line)
	}
	return 0
}

// serveBuilder serves the builder front, and writes the buildx configuration that points at it.
func serveBuilder(policy Policy, upstream, socket string, gid int) {
	listener, err := listenSocket(socket, gid)
	if err != nil {
		log.Fatalf("dood-proxy: builder socket: %v", err)
	}
	if err := writeBuildxConfig(filepath.Join(filepath.Dir(socket), "buildx"), "unix://"+socket, gid); err != nil {
		log.Fatalf("dood-proxy: buildx configuration: %v", err)
	}
	log.Printf("dood-proxy: builder front on %s for %s", socket, upstream)
	server := &http.Server{Handler: NewBuilderFront(policy, upstream), Protocols: h2c()}
	log.Fatal(server.Serve(listener))
}

// socketGroup is the group that may use the proxy's sockets besides root (-1: none).
func socketGroup(gid string) (int, error) {
	if gid == "" {
		return -1, nil
	}
	return strconv.Atoi(gid)
}

// listenSocket replaces a socket left by an earlier run; it is readable by root and, when given, one group.
func listenSocket(socket string, gid int) (net.Listener, error) {
	_ = os.Remove(socket)
	listener, err := net.Listen("unix", socket)
	if err != nil {
		return nil, err
	}
	mode := os.FileMode(0o600)
	if gid >= 0 {
		if err := os.Chown(socket, 0, gid); err != nil {
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
