package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeBuildkitd records the gRPC calls that reach it and echoes each message back as it arrives
// (so a streaming call shows that the front carries both directions at once).
type fakeBuildkitd struct {
	mu    sync.Mutex
	calls []builderCall
}

type builderCall struct {
	method string
	msgs   [][]byte
}

func (f *fakeBuildkitd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/moby.buildkit.v1.Control/Prune" {
		// A call that fails at once: one HEADERS frame with the status, ending the stream.
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Grpc-Status", "2")
		w.Header().Set("Grpc-Message", "process did not complete successfully: exit code: 1")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status")
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	call := builderCall{method: r.URL.Path}
	for {
		head := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, head); err != nil {
			break
		}
		msg := make([]byte, binary.BigEndian.Uint32(head[1:]))
		if _, err := io.ReadFull(r.Body, msg); err != nil {
			break
		}
		call.msgs = append(call.msgs, msg)
		w.Write(grpcFrame(msg))
		http.NewResponseController(w).Flush()
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	w.Header().Set("Grpc-Status", "0")
}

func (f *fakeBuildkitd) take() []builderCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := f.calls
	f.calls = nil
	return calls
}

// startBuilder serves a builder front for policy before a fake buildkitd; it returns an HTTP/2
// client dialling the front's socket.
func startBuilder(t *testing.T, policy Policy) (*fakeBuildkitd, *http.Client) {
	t.Helper()
	dir := t.TempDir()
	serve := func(socket string, handler http.Handler) {
		listener, err := net.Listen("unix", socket)
		if err != nil {
			t.Fatal(err)
		}
		server := &http.Server{Handler: handler, Protocols: h2c()}
		go server.Serve(listener)
		t.Cleanup(func() { server.Close() })
	}
	buildkitd := &fakeBuildkitd{}
	serve(filepath.Join(dir, "buildkitd.sock"), buildkitd)
	front := filepath.Join(dir, "front.sock")
	serve(front, NewBuilderFront(policy, filepath.Join(dir, "buildkitd.sock")))
	client := &http.Client{Transport: &http.Transport{Protocols: h2c(), DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", front)
	}}}
	return buildkitd, client
}

// A SolveRequest or an LLBBridge SolveRequest, in wire form.
type solve struct {
	frontendField, attrsField int
	frontend                  string
	attrs                     [][2]string
	entitlements              []string
}

func (s solve) bytes() []byte {
	msg := appendBytesField(nil, 2, []byte("llb definition bytes"))
	if s.frontend != "" {
		msg = appendBytesField(msg, s.frontendField, []byte(s.frontend))
	}
	for _, kv := range s.attrs {
		msg = appendMapEntry(msg, s.attrsField, kv[0], kv[1])
	}
	for _, e := range s.entitlements {
		msg = appendBytesField(msg, controlEntitlements, []byte(e))
	}
	return msg
}

func controlSolveOf(frontend string, entitlements []string, attrs ...[2]string) []byte {
	return solve{controlFrontend, controlFrontendAttrs, frontend, attrs, entitlements}.bytes()
}

func bridgeSolveOf(frontend string, attrs ...[2]string) []byte {
	return solve{bridgeFrontend, bridgeFrontendOpt, frontend, attrs, nil}.bytes()
}

// grpcCall makes a unary gRPC call; it returns the status code and message.
func grpcCall(t *testing.T, client *http.Client, method string, body []byte) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://builder"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("Te", "trailers")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	status, message := resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	if status == "" {
		status, message = resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	}
	decoded, _ := url.PathUnescape(message)
	return status, decoded
}

func attrsOf(t *testing.T, msg []byte, field int) map[string]string {
	t.Helper()
	fields, err := protoFields(msg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range fields {
		if f.number == field {
			k, v, err := protoMapEntry(f)
			if err != nil {
				t.Fatal(err)
			}
			out[k] = v
		}
	}
	return out
}

// BuildKit's attacks on a restricted client's builder front: refused with the policy's message,
// nothing reaches the builder.
func TestBuilderAttacks(t *testing.T) {
	buildkitd, client := startBuilder(t, restricted)
	hostnet := [2]string{"force-network-mode", "host"}
	cases := []struct {
		name, method string
		body         []byte
		code, msg    string
	}{
		{"--allow network.host", controlSolve, grpcFrame(controlSolveOf("dockerfile.v0", []string{"network.host"})), "7",
			"dood policy (client agent): the host network (build --network host, --allow network.host) is not allowed: build entitlement network.host (access.hostNamespaces: false)"},
		{"--allow security.insecure", controlSolve, grpcFrame(controlSolveOf("", []string{"security.insecure"})), "7",
			"privileged build steps (RUN --security=insecure, --allow security.insecure) is not allowed: build entitlement security.insecure (access.privileged: false)"},
		{"--allow device", controlSolve, grpcFrame(controlSolveOf("", []string{"device=nvidia.com/gpu=all"})), "7", "devices in build steps (--allow device) is not allowed"},
		{"an entitlement this proxy does not know", controlSolve, grpcFrame(controlSolveOf("", []string{"kernel.modules"})), "7", `build entitlement "kernel.modules" is not one this proxy knows`},
		{"a second entitlement after an allowed-looking one", controlSolve, grpcFrame(controlSolveOf("", []string{"", "network.host"})), "7", "entitlement"},
		{"build --network host (frontend option)", controlSolve, grpcFrame(controlSolveOf("dockerfile.v0", nil, hostnet)), "7", "the host network (build --network host) is not allowed (access.hostNamespaces: false)"},
		{"--network host through the gateway", bridgeSolve, grpcFrame(bridgeSolveOf("dockerfile.v0", hostnet)), "7", "the host network (build --network host) is not allowed"},
		{"a method this proxy does not forward", "/moby.buildkit.v1.Control2/Solve", grpcFrame(nil), "7", "BuildKit method /moby.buildkit.v1.Control2/Solve is not one this proxy forwards (default deny)"},
		{"a session service called directly", "/moby.filesync.v1.FileSync/DiffCopy", grpcFrame(nil), "7", "default deny"},
		{"a delete in the builder's content store", "/containerd.services.content.v1.Content/Delete", grpcFrame(nil), "7", "default deny"},
		{"a compressed Solve", controlSolve, append([]byte{1, 0, 0, 0, 1}, 0), "3", "compressed"},
		{"two messages in a Solve", controlSolve, append(grpcFrame(controlSolveOf("", nil)), grpcFrame(controlSolveOf("", []string{"network.host"}))...), "3", "one gRPC message expected"},
		{"a malformed Solve", controlSolve, grpcFrame([]byte{0x4a, 0x7f, 0x00}), "3", "malformed protobuf"},
		{"an entitlement that is not a string", controlSolve, grpcFrame([]byte{0x48, 0x01}), "3", "malformed"},
		{"a truncated message", controlSolve, []byte{0, 0, 0, 0, 9, 1}, "3", "one gRPC message expected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, msg := grpcCall(t, client, c.method, c.body)
			if code != c.code || !strings.Contains(msg, c.msg) {
				t.Fatalf("got %s %q, want %s containing %q", code, msg, c.code, c.msg)
			}
			if got := buildkitd.take(); len(got) > 0 {
				t.Fatalf("a refused call reached the builder: %v", got[0].method)
			}
		})
	}
	t.Logf("%d builder attack cases", len(cases))
}

// What buildx sends gets through: labelled as the client's, the client's own attributes kept.
func TestBuilderForwards(t *testing.T) {
	buildkitd, client := startBuilder(t, restricted)
	forged := [2]string{"label:" + OwnerLabel, "other"}
	arg := [2]string{"build-arg:VERSION", "1"}
	if code, msg := grpcCall(t, client, controlSolve, grpcFrame(controlSolveOf("dockerfile.v0", nil, forged, arg))); code != "0" {
		t.Fatal(code, msg)
	}
	got := buildkitd.take()[0]
	attrs := attrsOf(t, got.msgs[0], controlFrontendAttrs)
	if attrs["label:"+OwnerLabel] != "agent" || attrs["build-arg:VERSION"] != "1" {
		t.Fatalf("forwarded attributes %v", attrs)
	}
	// buildx's own build: Control.Solve without a frontend (kept as is), the frontend through the gateway.
	plain := controlSolveOf("", nil, arg)
	grpcCall(t, client, controlSolve, grpcFrame(plain))
	if got := buildkitd.take()[0].msgs[0]; !bytes.Equal(got, plain) {
		t.Fatal("a Solve without a frontend was changed")
	}
	grpcCall(t, client, bridgeSolve, grpcFrame(bridgeSolveOf("dockerfile.v0", arg)))
	if attrs := attrsOf(t, buildkitd.take()[0].msgs[0], bridgeFrontendOpt); attrs["label:"+OwnerLabel] != "agent" || attrs["build-arg:VERSION"] != "1" {
		t.Fatalf("forwarded frontend options %v", attrs)
	}
	// The builder's error reaches the client as its status, in the trailers where gRPC reads it
	// once the headers went out without ending the stream (the proxy flushes them at once).
	req, _ := http.NewRequest("POST", "http://builder/moby.buildkit.v1.Control/Prune", bytes.NewReader(grpcFrame(nil)))
	req.Header.Set("Content-Type", "application/grpc")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Grpc-Status") != "" || resp.Trailer.Get("Grpc-Status") != "2" || resp.Trailer.Get("Grpc-Message") != "process did not complete successfully: exit code: 1" {
		t.Fatalf("a failed call's status: headers %v, trailers %v", resp.Header, resp.Trailer)
	}
	for _, method := range []string{"/moby.buildkit.v1.Control/ListWorkers", "/moby.buildkit.v1.Control/Info", "/grpc.health.v1.Health/Check"} {
		if code, msg := grpcCall(t, client, method, grpcFrame(nil)); code != "0" {
			t.Fatal(method, code, msg)
		}
	}

	// A streaming call (the session) carries both directions at once: each message comes back
	// before the next one is sent.
	reader, writer := io.Pipe()
	req, _ = http.NewRequest("POST", "http://builder/moby.buildkit.v1.Control/Session", reader)
	req.Header.Set("Content-Type", "application/grpc")
	done := make(chan *http.Response)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	writer.Write(grpcFrame([]byte("first")))
	resp = <-done
	for _, want := range []string{"first", "second"} {
		head := make([]byte, 5)
		if _, err := io.ReadFull(resp.Body, head); err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, binary.BigEndian.Uint32(head[1:]))
		io.ReadFull(resp.Body, msg)
		if string(msg) != want {
			t.Fatalf("got %q, want %q", msg, want)
		}
		if want == "first" {
			writer.Write(grpcFrame([]byte("second")))
		}
	}
	writer.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.Trailer.Get("Grpc-Status") != "0" {
		t.Fatalf("trailers %v", resp.Trailer)
	}
}

// A client allowed the host's namespaces may ask for the host network in its own builder.
func TestBuilderEntitlementsAllowed(t *testing.T) {
	buildkitd, client := startBuilder(t, Policy{Client: "ops", HostNamespaces: true, Privileged: true, Scope: "own"})
	body := grpcFrame(controlSolveOf("dockerfile.v0", []string{"network.host", "security.insecure"}, [2]string{"force-network-mode", "host"}))
	if code, msg := grpcCall(t, client, controlSolve, body); code != "0" {
		t.Fatal(code, msg)
	}
	if len(buildkitd.take()) != 1 {
		t.Fatal("the Solve did not reach the builder")
	}
}
