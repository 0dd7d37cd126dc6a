package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// OwnerLabel marks every object a client creates through its proxy.
const OwnerLabel = "dind-provisioner.dood-client"

// Policy is what a client may ask the daemon for. It comes from the stack file's
// clients.<name>.access, as JSON (the DOOD_POLICY environment variable).
type Policy struct {
	// Client is the client's name: the owner label's value and the prefix of the names it chooses.
	Client string `json:"client"`
	// Privileged allows privileged containers and execs, added capabilities, devices,
	// security options, cgroup parents, other runtimes and any sysctl.
	Privileged bool `json:"privileged"`
	// HostNamespaces allows the host's pid, network, ipc, uts, user and cgroup namespaces.
	HostNamespaces bool `json:"hostNamespaces"`
	// Binds are the host paths under which bind mounts are allowed (absolute, already resolved).
	Binds []string `json:"binds"`
	// Scope is "own" (see and touch only what this client created) or "all".
	Scope string `json:"scope"`
}

// ParsePolicy reads and checks a policy document.
func ParsePolicy(data []byte) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("policy: %w", err)
	}
	if p.Client == "" || strings.Contains(p.Client, ".") {
		return p, fmt.Errorf("policy: client must be a name without '.'")
	}
	if p.Scope != "own" && p.Scope != "all" {
		return p, fmt.Errorf("policy: scope must be own or all, got %q", p.Scope)
	}
	for _, b := range p.Binds {
		if !strings.HasPrefix(b, "/") || cleanAbs(b) != b {
			return p, fmt.Errorf("policy: bind root %q is not a clean absolute path", b)
		}
	}
	return p, nil
}

func (p Policy) own() bool { return p.Scope == "own" }

// prefixed is the daemon-side name of a name the client chose: <client>.<name>.
// Client names hold no '.', so one client's prefix is never another's.
func (p Policy) prefixed(name string) string {
	if !p.own() || name == "" || strings.HasPrefix(name, p.Client+".") {
		return name
	}
	return p.Client + "." + name
}

// Refusal is an answer the proxy gives instead of forwarding a request.
type Refusal struct {
	Status  int
	Message string
}

func (r *Refusal) Error() string { return r.Message }

// deny names the rule a request breaks, in the daemon's own error shape.
func (p Policy) deny(rule, format string, args ...any) *Refusal {
	return &Refusal{http.StatusForbidden, fmt.Sprintf("dood policy (client %s): %s (%s)", p.Client, fmt.Sprintf(format, args...), rule)}
}

func badRequest(format string, args ...any) *Refusal {
	return &Refusal{http.StatusBadRequest, "dood policy: " + fmt.Sprintf(format, args...)}
}

func notFound(kind, ref string) *Refusal {
	return &Refusal{http.StatusNotFound, fmt.Sprintf("No such %s: %s", kind, ref)}
}
