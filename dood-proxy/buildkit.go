package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The builder front: the socket a client's buildx dials for BuildKit. Behind it is the client's
// own builder (a rootless buildkitd in a container of its own, with its own cache), never the
// daemon's BuildKit: the daemon's /session and /grpc stay refused (see docs/dood-buildkit.md for
// why). BuildKit's API is gRPC over HTTP/2; the front forwards the methods buildx uses and reads
// the two requests that start builds, Control.Solve and LLBBridge.Solve, to refuse what the
// policy forbids before the builder sees it and to label what is built as the client's.

const (
	controlSolve = "/moby.buildkit.v1.Control/Solve"
	bridgeSolve  = "/moby.buildkit.v1.frontend.LLBBridge/Solve"
	// A Solve request carries a build definition (LLB), bounded as BuildKit bounds it.
	maxSolveRequest = 16 << 20
)

// builderServices are the gRPC services forwarded to the builder: its control API, the gateway
// API that buildx's build functions and frontends use, the health check, and the traces buildx
// sends its builder.
var builderServices = map[string]bool{
	"moby.buildkit.v1.Control":                            true,
	"moby.buildkit.v1.frontend.LLBBridge":                 true,
	"grpc.health.v1.Health":                               true,
	"opentelemetry.proto.collector.trace.v1.TraceService": true,
}

// builderReadMethods are single methods forwarded from services otherwise refused: buildx reads a
// finished build's provenance from the builder's content store (Compose's builds ask for it). The
// store is the client's own builder's; writes and deletes stay refused.
var builderReadMethods = map[string]bool{
	"/containerd.services.content.v1.Content/Info": true,
	"/containerd.services.content.v1.Content/Read": true,
}

// Field numbers in BuildKit's protobuf messages (api/services/control/control.proto and
// frontend/gateway/pb/gateway.proto).
const (
	controlFrontend      = 6
	controlFrontendAttrs = 7
	controlEntitlements  = 9
	bridgeFrontend       = 2
	bridgeFrontendOpt    = 3
)

// Entitlements a build may ask for, and the policy key that allows each.
var entitlementRules = map[string]struct {
	allowed func(Policy) bool
	rule    string
	what    string
}{
	"network.host":      {func(p Policy) bool { return p.HostNamespaces }, ruleHostNS, "the host network (build --network host, --allow network.host)"},
	"security.insecure": {func(p Policy) bool { return p.Privileged }, rulePrivileged, "privileged build steps (RUN --security=insecure, --allow security.insecure)"},
	"device":            {func(p Policy) bool { return p.Privileged }, rulePrivileged, "devices in build steps (--allow device)"},
}

// BuilderFront forwards a client's BuildKit requests to its own builder.
type BuilderFront struct {
	policy  Policy
	forward *httputil.ReverseProxy
}

// h2c is HTTP/2 without TLS, which gRPC over a unix socket speaks.
func h2c() *http.Protocols {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return protocols
}

func NewBuilderFront(policy Policy, upstream string) *BuilderFront {
	transport := &http.Transport{
		Protocols: h2c(),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", upstream)
		},
	}
	return &BuilderFront{policy: policy, forward: &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", "buildkitd", "buildkitd"
		},
		Transport:      transport,
		FlushInterval:  -1, // status streams, the session's bytes: every write goes out at once
		ModifyResponse: trailersOnly,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeGRPCError(w, &Refusal{http.StatusBadGateway, "dood policy: the builder did not answer: " + err.Error()})
		},
	}}
}

// trailersOnly keeps a call's status a trailer. A gRPC server that fails a call before it sends
// anything answers with one HEADERS frame that ends the stream and holds the status; passed on as
// it is, the proxy would send those headers at once (it flushes every write) and end the stream
// with an empty DATA frame, and the client, finding no trailers, would report "server closed the
// stream without sending trailers" instead of the builder's error.
func trailersOnly(resp *http.Response) error {
	if resp.Header.Get("Grpc-Status") == "" {
		return nil
	}
	if resp.Trailer == nil {
		resp.Trailer = http.Header{}
	}
	for key, values := range resp.Header {
		if strings.HasPrefix(key, "Grpc-") {
			resp.Trailer[key] = values
			resp.Header.Del(key)
		}
	}
	return nil
}

func (b *BuilderFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if refusal := b.admit(r); refusal != nil {
		log.Printf("refused builder call %s: %s", r.URL.Path, refusal.Message)
		writeGRPCError(w, refusal)
		return
	}
	b.forward.ServeHTTP(w, r)
}

func (b *BuilderFront) admit(r *http.Request) *Refusal {
	if r.ProtoMajor != 2 || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		return badRequest("the builder socket speaks gRPC (BuildKit's API), not %s %s", r.Proto, r.Method)
	}
	service, _, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok || !(builderServices[service] || builderReadMethods[r.URL.Path]) || r.URL.RawQuery != "" || strings.Contains(r.URL.Path, "%") {
		return b.policy.deny("default deny", "BuildKit method %s is not one this proxy forwards", r.URL.Path)
	}
	var at solveFields
	switch r.URL.Path {
	case controlSolve:
		at = controlSolveFields
	case bridgeSolve:
		at = bridgeSolveFields
	default:
		return nil
	}
	if enc := r.Header.Get("Grpc-Encoding"); enc != "" && enc != "identity" {
		return badRequest("a compressed (%s) build request cannot be checked", enc)
	}
	msg, refusal := readGRPCMessage(r.Body)
	if refusal != nil {
		return refusal
	}
	if msg, refusal = b.checkSolve(msg, at); refusal != nil {
		return refusal
	}
	framed := grpcFrame(msg)
	r.Body = io.NopCloser(bytes.NewReader(framed))
	r.ContentLength = int64(len(framed))
	r.Header.Del("Content-Length")
	return nil
}

// solveFields are where a Solve request keeps its frontend, its frontend options and (only
// Control.Solve) its entitlements.
type solveFields struct {
	name                          string
	frontend, attrs, entitlements int
}

var (
	controlSolveFields = solveFields{"Control.Solve", controlFrontend, controlFrontendAttrs, controlEntitlements}
	// A build that buildx (or a frontend) drives through the gateway API: its frontend options
	// are where `docker buildx build` puts labels and build args.
	bridgeSolveFields = solveFields{"LLBBridge.Solve", bridgeFrontend, bridgeFrontendOpt, -1}
)

// checkSolve refuses entitlements and a host network the policy does not allow, and labels the
// image a frontend builds as the client's.
func (b *BuilderFront) checkSolve(msg []byte, at solveFields) ([]byte, *Refusal) {
	fields, err := protoFields(msg)
	if err != nil {
		return nil, badRequest("%s request: %v", at.name, err)
	}
	frontend := ""
	for _, f := range fields {
		switch f.number {
		case at.entitlements:
			e, err := protoString(f)
			if err != nil {
				return nil, badRequest("%s entitlements: %v", at.name, err)
			}
			if refusal := b.checkEntitlement(e); refusal != nil {
				return nil, refusal
			}
		case at.attrs:
			if refusal := b.checkFrontendAttr(f); refusal != nil {
				return nil, refusal
			}
		case at.frontend:
			if frontend, err = protoString(f); err != nil {
				return nil, badRequest("%s frontend: %v", at.name, err)
			}
		}
	}
	if frontend != "" {
		msg = appendMapEntry(msg, at.attrs, "label:"+OwnerLabel, b.policy.Client)
	}
	return msg, nil
}

func (b *BuilderFront) checkEntitlement(e string) *Refusal {
	name, _, _ := strings.Cut(e, "=")
	rule, known := entitlementRules[name]
	switch {
	case !known:
		return b.policy.deny(rulePrivileged, "build entitlement %q is not one this proxy knows", e)
	case !rule.allowed(b.policy):
		return b.policy.deny(rule.rule, "%s is not allowed: build entitlement %s", rule.what, name)
	}
	return nil
}

// checkFrontendAttr refuses the frontend option buildx turns `--network host` into.
func (b *BuilderFront) checkFrontendAttr(f protoField) *Refusal {
	key, value, err := protoMapEntry(f)
	if err != nil {
		return badRequest("frontend options: %v", err)
	}
	if key == "force-network-mode" && value == "host" && !b.policy.HostNamespaces {
		return b.policy.deny(ruleHostNS, "the host network (build --network host) is not allowed")
	}
	return nil
}

// readGRPCMessage reads a unary request: exactly one uncompressed, length-prefixed message.
func readGRPCMessage(body io.Reader) ([]byte, *Refusal) {
	data, err := io.ReadAll(io.LimitReader(body, maxSolveRequest+6))
	if err != nil {
		return nil, badRequest("reading the build request: %v", err)
	}
	if len(data) > maxSolveRequest+5 {
		return nil, &Refusal{http.StatusRequestEntityTooLarge, "dood policy: build request larger than 16 MiB"}
	}
	if len(data) < 5 {
		return nil, badRequest("build request: not a gRPC message")
	}
	if data[0] != 0 {
		return nil, badRequest("a compressed build request cannot be checked")
	}
	if length := binary.BigEndian.Uint32(data[1:5]); int(length) != len(data)-5 {
		return nil, badRequest("build request: one gRPC message expected")
	}
	return data[5:], nil
}

func grpcFrame(msg []byte) []byte {
	framed := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(framed[1:], uint32(len(msg)))
	return append(framed, msg...)
}

// gRPC status codes for the proxy's answers.
var grpcCodes = map[int]int{
	http.StatusBadRequest:            3,  // InvalidArgument
	http.StatusForbidden:             7,  // PermissionDenied
	http.StatusNotFound:              5,  // NotFound
	http.StatusRequestEntityTooLarge: 8,  // ResourceExhausted
	http.StatusBadGateway:            14, // Unavailable
}

// writeGRPCError answers with a gRPC status only (no message), as a gRPC server refuses a call;
// buildx prints the message as the daemon's.
func writeGRPCError(w http.ResponseWriter, refusal *Refusal) {
	code, ok := grpcCodes[refusal.Status]
	if !ok {
		code = 2 // Unknown
	}
	h := w.Header()
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", strconv.Itoa(code))
	h.Set("Grpc-Message", grpcPercentEncode(refusal.Message))
	w.WriteHeader(http.StatusOK)
}

// grpcPercentEncode encodes a status message as the gRPC protocol wants it in a header.
func grpcPercentEncode(s string) string {
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '%' {
			fmt.Fprintf(&out, "%%%02X", c)
		} else {
			out.WriteByte(c)
		}
	}
	return out.String()
}

// BuildxBuilderName is the name of the builder buildx finds in the configuration the proxy writes.
const BuildxBuilderName = "dood"

// writeBuildxConfig writes the buildx configuration a client uses (BUILDX_CONFIG): one builder,
// the remote driver on the builder front's socket, loading what it builds into the daemon (through
// the proxy) as `docker build` does. Its directory is the client's to write (buildx keeps its state
// there), so it belongs to the socket's group, like the socket.
func writeBuildxConfig(dir, endpoint string, gid int) error {
	node := map[string]any{"Name": BuildxBuilderName + "0", "Endpoint": endpoint, "DriverOpts": map[string]string{"default-load": "true"}}
	instance, _ := json.Marshal(map[string]any{"Name": BuildxBuilderName, "Driver": "remote", "Nodes": []any{node}, "Dynamic": false})
	mode := os.FileMode(0o700)
	if gid >= 0 {
		mode = 0o770 | os.ModeSetgid
	}
	for _, sub := range []string{"", "instances", "defaults", "activity"} {
		d := filepath.Join(dir, sub)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if gid >= 0 {
			if err := os.Chown(d, 0, gid); err != nil {
				return err
			}
		}
		if err := os.Chmod(d, mode); err != nil {
			return err
		}
	}
	file := filepath.Join(dir, "instances", BuildxBuilderName)
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, instance, 0o640); err != nil {
		return err
	}
	if gid >= 0 {
		if err := os.Chown(tmp, 0, gid); err != nil {
			return err
		}
	}
	return os.Rename(tmp, file)
}
