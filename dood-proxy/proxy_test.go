package main

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDaemon answers the lookups the proxy makes and records every other request it receives.
type fakeDaemon struct {
	mu        sync.Mutex
	forwarded []recorded
	images    *fakeImages
}

type recorded struct {
	Method, Path string
	Query        url.Values
	Body         string
	Length       int64
}

var fakeObjects = map[string][]map[string]any{
	"containers": {
		{"Id": "c1mine", "Name": "/agent.mine", "Config": map[string]any{"Labels": map[string]string{OwnerLabel: "agent"}}},
		{"Id": "c2theirs", "Name": "/theirs", "Config": map[string]any{"Labels": map[string]string{OwnerLabel: "other"}}},
		{"Id": "c3host", "Name": "/hostjob", "Config": map[string]any{"Labels": map[string]string{}}},
		{"Id": "c4spoof", "Name": "/agent.spoof", "Config": map[string]any{"Labels": map[string]string{}}},
	},
	"networks": {
		{"Id": "n1", "Name": "agent.net", "Labels": map[string]string{OwnerLabel: "agent"}},
		{"Id": "n2", "Name": "theirnet", "Labels": map[string]string{OwnerLabel: "other"}},
	},
	"volumes": {
		{"Name": "agent.data", "Labels": map[string]string{OwnerLabel: "agent"}},
		{"Name": "agent.implicit", "Labels": nil},
		{"Name": "theirvol", "Labels": map[string]string{OwnerLabel: "other"}},
	},
	"exec": {
		{"ID": "e1", "ContainerID": "c1mine"},
		{"ID": "e2", "ContainerID": "c2theirs"},
	},
}

func (d *fakeDaemon) lookup(r *http.Request) (map[string]any, bool) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	if r.Method != http.MethodGet || len(parts) != 2 || r.Header.Get("User-Agent") == "test-client" {
		return nil, false
	}
	ref := parts[1]
	if parts[0] != "volumes" && parts[0] != "networks" {
		var ok bool
		if ref, ok = strings.CutSuffix(ref, "/json"); !ok {
			return nil, false
		}
	}
	if parts[0] == "images" {
		return d.images.find(ref), true
	}
	for _, o := range fakeObjects[parts[0]] {
		if o["Id"] == ref || o["ID"] == ref || strings.TrimPrefix(fmt.Sprint(o["Name"]), "/") == ref {
			return o, true
		}
	}
	return nil, true
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o, isLookup := d.lookup(r); isLookup {
		if o == nil {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"not found"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(o)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/attach") {
		d.attach(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the upload ended in an error: what a daemon does then is fail, having done nothing
	}
	d.mu.Lock()
	d.forwarded = append(d.forwarded, recorded{r.Method, r.URL.Path, r.URL.Query(), string(body), int64(len(body))})
	d.mu.Unlock()
	if d.images.apply(w, r, body) {
		return
	}
	if unversioned := versionPrefix.ReplaceAllString(r.URL.Path, "$3"); r.Method == http.MethodGet && unversioned == "/networks" {
		_ = json.NewEncoder(w).Encode(fakeObjects["networks"])
		return
	}
	if id, ok := strings.CutPrefix(versionPrefix.ReplaceAllString(r.URL.Path, "$3"), "/networks/"); ok && r.Method == http.MethodGet {
		for _, n := range fakeObjects["networks"] {
			if n["Id"] == id {
				_ = json.NewEncoder(w).Encode(n)
				return
			}
		}
	}
	fmt.Fprint(w, `{}`)
}

// attach reads stdin until the client half-closes it, then answers with it in upper case. Asked
// without an upgrade, it answers as the daemon does a process that exits at once: 200, the
// output, and the connection closed.
func (d *fakeDaemon) attach(w http.ResponseWriter, r *http.Request) {
	conn, buf, _ := http.NewResponseController(w).Hijack()
	defer conn.Close()
	if r.Header.Get("Upgrade") == "" {
		fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nexited at once")
		return
	}
	fmt.Fprint(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	in, _ := io.ReadAll(buf)
	fmt.Fprint(conn, strings.ToUpper(string(in)))
}

func (d *fakeDaemon) last() *recorded {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.forwarded) == 0 {
		return nil
	}
	r := d.forwarded[len(d.forwarded)-1]
	d.forwarded = nil
	return &r
}

var links = map[string]string{"/srv/ci/escape": "/", "/srv/ci/etc-link": "/etc", "/srv/ci/inner": "/srv/ci/sub"}

func fakeResolve(p string) string {
	for link, target := range links {
		if p == link || strings.HasPrefix(p, link+"/") {
			return target + strings.TrimPrefix(p, link)
		}
	}
	return p
}

func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

func start(t *testing.T, policy Policy) (*fakeDaemon, string) {
	t.Helper()
	daemon := &fakeDaemon{images: newFakeImages()}
	_, base := startProxy(t, daemon, policy)
	return daemon, base
}

// startProxy serves a proxy for policy in front of daemon.
func startProxy(t *testing.T, daemon *fakeDaemon, policy Policy) (*Proxy, string) {
	t.Helper()
	socket := filepath.Join(t.TempDir(), "daemon.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	server := &http.Server{Handler: daemon}
	go server.Serve(listener)
	t.Cleanup(func() { server.Close() })
	proxy := NewProxy(policy, socket)
	proxy.resolve = fakeResolve
	proxy.sockets = socketRewrite{hostDir: "/run/dind-provisioner/dood/" + policy.Client, daemon: "/var/run/docker.sock", client: "/run/dood/docker.sock"}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	return proxy, front.URL
}

var restricted = Policy{Client: "agent", Binds: []string{"/srv/ci"}, Scope: "own"}

type tc struct {
	name, method, path, body string
	contentType              string
	status                   int
	message                  string                      // a part of the refusal
	check                    func(*testing.T, *recorded) // what reached the daemon
}

func send(t *testing.T, base string, c tc) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	// Opaque keeps tricky paths byte for byte as written.
	req.URL.Opaque = strings.SplitN(c.path, "?", 2)[0]
	req.Header.Set("User-Agent", "test-client")
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	} else if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

func run(t *testing.T, policy Policy, cases []tc) *fakeDaemon {
	daemon, base := start(t, policy)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := send(t, base, c)
			got := daemon.last()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.status >= 400 {
				var e struct{ Message string }
				if err := json.Unmarshal([]byte(body), &e); c.method != "HEAD" && (err != nil || !strings.Contains(e.Message, c.message)) {
					t.Fatalf("message %q does not contain %q", body, c.message)
				}
				if got != nil {
					t.Fatalf("a refused request reached the daemon: %+v", got)
				}
				return
			}
			if got == nil {
				t.Fatal("an allowed request did not reach the daemon")
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
	return daemon
}

const create = "/v1.41/containers/create"

func hostConfig(hc string) string { return `{"Image":"busybox","HostConfig":` + hc + `}` }

func refused(name, method, path, body, message string) tc {
	return tc{name: name, method: method, path: path, body: body, status: 403, message: message}
}

func refusedCreate(name, hc, message string) tc {
	return refused(name, "POST", create, hostConfig(hc), message)
}

func missing(name, method, path, body, message string) tc {
	return tc{name: name, method: method, path: path, body: body, status: 404, message: message}
}

// badRef is a reference inside a create body to something the client may not see: a 400.
func badRef(name, method, path, body, message string) tc {
	return tc{name: name, method: method, path: path, body: body, status: 400, message: message}
}

func bad(name, method, path, body, message string) tc {
	return tc{name: name, method: method, path: path, body: body, status: 400, message: message}
}

// Every way out of a restricted client this proxy knows of; none may reach the daemon.
func TestAttacks(t *testing.T) {
	privileged := "dood policy (client agent): privileged containers are not allowed (access.privileged: false)"
	cases := []tc{
		// privileged
		refusedCreate("privileged", `{"Privileged":true}`, privileged),
		refusedCreate("privileged, lower-case key", `{"privileged":true}`, privileged),
		refused("privileged, top-level lower-case HostConfig", "POST", create, `{"hostconfig":{"PRIVILEGED":true}}`, privileged),
		bad("privileged as a string", "POST", create, hostConfig(`{"Privileged":"true"}`), "expected true or false"),
		bad("duplicate keys hiding privileged", "POST", create, hostConfig(`{"Privileged":false,"privileged":true}`), "duplicate key"),
		bad("duplicate HostConfig", "POST", create, `{"HostConfig":{},"HostConfig":{"Privileged":true}}`, "duplicate key"),
		bad("non-ASCII key folding to Binds", "POST", create, hostConfig(`{"Bind\u017f":["/:/host"]}`), "non-ASCII key"),
		bad("a second JSON value", "POST", create, hostConfig(`{}`)+` {"HostConfig":{"Privileged":true}}`, "more than one JSON value"),
		refusedCreate("CapAdd SYS_ADMIN", `{"CapAdd":["SYS_ADMIN"]}`, "adding capability SYS_ADMIN"),
		refusedCreate("CapAdd cap_sys_ptrace", `{"CapAdd":["cap_sys_ptrace"]}`, "adding capability cap_sys_ptrace"),
		refusedCreate("CapAdd ALL", `{"CapAdd":["ALL"]}`, "adding capability ALL"),
		refusedCreate("CapAdd NET_ADMIN", `{"CapAdd":["CHOWN","NET_ADMIN"]}`, "NET_ADMIN"),
		refusedCreate("Devices", `{"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]}`, "host devices (Devices)"),
		refusedCreate("DeviceRequests", `{"DeviceRequests":[{"Count":-1,"Capabilities":[["gpu"]]}]}`, "DeviceRequests"),
		refusedCreate("DeviceCgroupRules", `{"DeviceCgroupRules":["b 8:* rmw"]}`, "DeviceCgroupRules"),
		refusedCreate("seccomp=unconfined", `{"SecurityOpt":["seccomp=unconfined"]}`, `security option "seccomp=unconfined"`),
		refusedCreate("seccomp:unconfined (old form)", `{"SecurityOpt":["seccomp:unconfined"]}`, "seccomp:unconfined"),
		refusedCreate("a custom seccomp profile", `{"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]}`, "security option"),
		refusedCreate("apparmor=unconfined", `{"SecurityOpt":["no-new-privileges","apparmor=unconfined"]}`, "apparmor=unconfined"),
		refusedCreate("label=disable", `{"SecurityOpt":["label=disable"]}`, "label=disable"),
		refusedCreate("label type spc_t", `{"SecurityOpt":["label:type:spc_t"]}`, "label:type:spc_t"),
		refusedCreate("systempaths=unconfined (MaskedPaths)", `{"MaskedPaths":[]}`, "MaskedPaths"),
		refusedCreate("ReadonlyPaths", `{"ReadonlyPaths":[]}`, "ReadonlyPaths"),
		refusedCreate("CgroupParent", `{"CgroupParent":"/"}`, "cgroup parent"),
		refusedCreate("another runtime", `{"Runtime":"sandbox-escape"}`, `runtime "sandbox-escape"`),
		refusedCreate("host sysctl", `{"Sysctls":{"kernel.core_pattern":"|/tmp/x"}}`, "sysctl kernel.core_pattern"),
		refusedCreate("host sysctl vm", `{"Sysctls":{"vm.overcommit_memory":"1"}}`, "vm.overcommit_memory"),
		// host namespaces
		refusedCreate("PidMode host", `{"PidMode":"host"}`, "the host's namespace (PidMode: host) is not allowed (access.hostNamespaces: false)"),
		refusedCreate("NetworkMode host", `{"NetworkMode":"host"}`, "NetworkMode: host"),
		refusedCreate("IpcMode host", `{"IpcMode":"host"}`, "IpcMode: host"),
		refusedCreate("UTSMode host", `{"UTSMode":"host"}`, "UTSMode: host"),
		refusedCreate("UsernsMode host", `{"UsernsMode":"host"}`, "UsernsMode: host"),
		refusedCreate("CgroupnsMode host", `{"CgroupnsMode":"host"}`, "CgroupnsMode: host"),
		refusedCreate("network endpoint host", `{},"NetworkingConfig":{"EndpointsConfig":{"host":{}}}`, "the host's network"),
		badRef("PidMode of another client's container", "POST", create, hostConfig(`{"PidMode":"container:theirs"}`), "No such container: theirs"),
		badRef("NetworkMode of the host's container", "POST", create, hostConfig(`{"NetworkMode":"container:hostjob"}`), "No such container: hostjob"),
		badRef("IpcMode by id of another's", "POST", create, hostConfig(`{"IpcMode":"container:c2theirs"}`), "No such container"),
		badRef("joining another client's network", "POST", create, hostConfig(`{"NetworkMode":"theirnet"}`), "network theirnet not found"),
		badRef("endpoint on another client's network", "POST", create, `{"NetworkingConfig":{"EndpointsConfig":{"theirnet":{}}}}`, "network theirnet not found"),
		// binds and mounts
		refusedCreate("bind /", `{"Binds":["/:/host"]}`, "bind mount of host path / is outside the allowed host paths (/srv/ci) (access.binds)"),
		refusedCreate("bind /etc read-only", `{"Binds":["/etc:/etc:ro"]}`, "host path /etc"),
		refusedCreate("bind the docker socket's directory", `{"Binds":["/var/run:/var/run"]}`, "host path /var/run is outside"),
		refusedCreate("bind the proxy's socket directory", `{"Binds":["/run/dind-provisioner/dood/agent:/s"]}`, "host path /run/dind-provisioner/dood/agent is outside"),
		refusedCreate("bind another client's proxy socket", `{"Binds":["/run/dind-provisioner/dood/other/docker.sock:/var/run/docker.sock"]}`, "dood/other/docker.sock is outside"),
		refusedCreate("bind a socket path through a symlink in the workspace", `{"Binds":["/srv/ci/escape/var/run/docker.sock:/s"]}`, "/srv/ci/escape/var/run/docker.sock is outside"),
		refusedCreate("bind .. out of the workspace", `{"Binds":["/srv/ci/../../etc:/x"]}`, "/srv/ci/../../etc"),
		refusedCreate("bind a sibling with the workspace as prefix", `{"Binds":["/srv/ci2:/x"]}`, "/srv/ci2"),
		refusedCreate("bind a symlink in the workspace to /", `{"Binds":["/srv/ci/escape:/x"]}`, "/srv/ci/escape"),
		refusedCreate("bind below a symlink to /etc", `{"Binds":["/srv/ci/etc-link/shadow:/x"]}`, "/srv/ci/etc-link/shadow"),
		refusedCreate("bind with rshared propagation", `{"Binds":["/srv/ci/sub:/x:rw,rshared"]}`, "rshared propagation"),
		refusedCreate("Mounts bind /", `{"Mounts":[{"Type":"bind","Source":"/","Target":"/host"}]}`, "host path /"),
		refusedCreate("Mounts bind, lower-case keys", `{"mounts":[{"type":"bind","source":"/root","target":"/r"}]}`, "host path /root"),
		refusedCreate("Mounts bind shared", `{"Mounts":[{"Type":"bind","Source":"/srv/ci","Target":"/w","BindOptions":{"Propagation":"shared"}}]}`, "shared propagation"),
		refusedCreate("Mounts volume bound to /", `{"Mounts":[{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]}`, "volume bound to host path /"),
		refusedCreate("Mounts volume nfs", `{"Mounts":[{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"DriverConfig":{"Options":{"type":"nfs","o":"addr=10.0.0.1","device":":/export"}}}}]}`, `type="nfs"`),
		refusedCreate("Mounts volume plugin driver", `{"Mounts":[{"Type":"volume","Source":"v","Target":"/x","VolumeOptions":{"DriverConfig":{"Name":"rexray"}}}]}`, `volume driver "rexray"`),
		refusedCreate("Mounts npipe", `{"Mounts":[{"Type":"npipe","Source":"x","Target":"/x"}]}`, `type "npipe"`),
		badRef("VolumesFrom another client's container", "POST", create, hostConfig(`{"VolumesFrom":["theirs:ro"]}`), "No such container: theirs"),
		badRef("VolumesFrom a container named with the prefix but not labelled", "POST", create, hostConfig(`{"VolumesFrom":["agent.spoof"]}`), "No such container: agent.spoof"),
		badRef("a container reference that is a path", "POST", create, hostConfig(`{"PidMode":"container:../../images/built:1"}`), "No such container: ../../images/built:1"),
		badRef("a container reference with a query", "POST", create, hostConfig(`{"IpcMode":"container:mine?x=1"}`), "No such container"),
		badRef("Links to another's container", "POST", create, hostConfig(`{"Links":["theirs:db"]}`), "No such container: theirs"),
		// exec
		refused("privileged exec", "POST", "/v1.41/containers/mine/exec", `{"Cmd":["sh"],"Privileged":true}`, "privileged exec is not allowed (access.privileged: false)"),
		missing("exec in another client's container", "POST", "/v1.41/containers/theirs/exec", `{"Cmd":["sh"]}`, "No such container: theirs"),
		missing("exec in the host's container", "POST", "/containers/hostjob/exec", `{"Cmd":["sh"]}`, "No such container: hostjob"),
		missing("start another client's exec", "POST", "/v1.41/exec/e2/start", `{"Detach":false}`, "No such exec instance: e2"),
		missing("inspect another client's exec", "GET", "/exec/e2/json", "", "No such exec instance: e2"),
		missing("resize another client's exec", "POST", "/exec/e2/resize?h=1&w=1", "", "No such exec instance"),
		// scope: every container operation on a container that is not the client's
		missing("inspect another's", "GET", "/v1.41/containers/theirs/json", "", "No such container: theirs"),
		missing("inspect by id", "GET", "/containers/c2theirs/json", "", "No such container: c2theirs"),
		missing("HEAD archive", "HEAD", "/containers/theirs/archive?path=/", "", ""),
		missing("read files (archive)", "GET", "/containers/theirs/archive?path=/etc", "", "No such container"),
		missing("write files (archive)", "PUT", "/containers/theirs/archive?path=/", "x", "No such container"),
		missing("export", "GET", "/containers/theirs/export", "", "No such container"),
		missing("logs", "GET", "/containers/hostjob/logs?stdout=1", "", "No such container"),
		missing("top", "GET", "/containers/theirs/top", "", "No such container"),
		missing("stats", "GET", "/containers/theirs/stats", "", "No such container"),
		missing("changes", "GET", "/containers/theirs/changes", "", "No such container"),
		missing("stop", "POST", "/containers/theirs/stop", "", "No such container"),
		missing("kill", "POST", "/containers/theirs/kill", "", "No such container"),
		missing("restart", "POST", "/containers/theirs/restart", "", "No such container"),
		missing("pause", "POST", "/containers/theirs/pause", "", "No such container"),
		missing("wait", "POST", "/containers/theirs/wait", "", "No such container"),
		missing("resize", "POST", "/containers/theirs/resize?h=1&w=1", "", "No such container"),
		missing("attach", "POST", "/containers/theirs/attach?stream=1", "", "No such container"),
		missing("remove", "DELETE", "/containers/theirs?force=1", "", "No such container"),
		missing("rename", "POST", "/containers/theirs/rename?name=x", "", "No such container"),
		missing("update", "POST", "/containers/theirs/update", `{"Memory":0}`, "No such container"),
		missing("commit", "POST", "/commit?container=theirs&repo=stolen", "", "No such container: theirs"),
		missing("a name with the prefix but no label", "GET", "/containers/agent.spoof/json", "", "No such container"),
		refused("update with a device", "POST", "/containers/mine/update", `{"Devices":[{"PathOnHost":"/dev/mem"}]}`, "host devices"),
		refused("update with a cgroup parent", "POST", "/containers/mine/update", `{"CgroupParent":"/"}`, "cgroup parent"),
		// volumes and networks
		refused("volume bound to /etc", "POST", "/volumes/create", `{"Name":"x","DriverOpts":{"type":"none","o":"bind","device":"/etc"}}`, "host path /etc"),
		refused("volume rbind with other flags", "POST", "/volumes/create", `{"DriverOpts":{"type":"none","o":"ro,rbind","device":"/"}}`, "host path /"),
		refused("volume of a block device", "POST", "/volumes/create", `{"DriverOpts":{"type":"ext4","device":"/dev/sda1"}}`, `type="ext4"`),
		refused("volume plugin", "POST", "/volumes/create", `{"Driver":"sshfs"}`, `volume driver "sshfs"`),
		missing("inspect another's volume", "GET", "/volumes/theirvol", "", "no such volume"),
		missing("remove another's volume", "DELETE", "/volumes/theirvol", "", "no such volume"),
		refused("macvlan network", "POST", "/networks/create", `{"Name":"x","Driver":"macvlan","Options":{"parent":"eth0"}}`, "macvlan"),
		refused("ipvlan network", "POST", "/networks/create", `{"Name":"x","Driver":"ipvlan"}`, "ipvlan"),
		refused("network plugin driver", "POST", "/networks/create", `{"Name":"x","Driver":"weave"}`, `"weave"`),
		refused("bridge on the host's docker0", "POST", "/networks/create", `{"Name":"x","Options":{"com.docker.network.bridge.name":"docker0"}}`, "bridge.name"),
		refused("network ConfigFrom", "POST", "/networks/create", `{"Name":"x","ConfigFrom":{"Network":"theirnet"}}`, "ConfigFrom"),
		missing("inspect another's network", "GET", "/networks/theirnet", "", "network theirnet not found"),
		missing("remove another's network", "DELETE", "/networks/n2", "", "not found"),
		missing("connect to another's network", "POST", "/networks/theirnet/connect", `{"Container":"mine"}`, "not found"),
		missing("connect another's container", "POST", "/networks/agent.net/connect", `{"Container":"theirs"}`, "No such container"),
		// images and build
		refused("remove a shared image", "DELETE", "/images/busybox:local", "", "only images this client built and tags it created can be removed (access.scope: own)"),
		refused("a classic build (the daemon fetches ADD URLs on its own network)", "POST", "/build?t=x", "tar", "the classic builder is not allowed: the daemon would fetch ADD URLs and remote contexts from its own machine's network"),
		refused("a classic build from a remote context", "POST", "/build?remote=http://127.0.0.1:2375/x", "", "the classic builder is not allowed"),
		refused("a classic build on the host network", "POST", "/build?networkmode=host&t=x", "tar", "the classic builder is not allowed"),
		refused("BuildKit build on the daemon", "POST", "/build?version=2&session=x", "", "the daemon's BuildKit (/build) is shared by every client's builds"),
		// the daemon's BuildKit: shared by every client (docs/dood-buildkit.md)
		refused("the daemon's BuildKit session", "POST", "/session", "", "the daemon's BuildKit (/session) is shared by every client's builds: this client builds on its own builder"),
		refused("the daemon's BuildKit gRPC", "POST", "/v1.41/grpc", "", "the daemon's BuildKit (/v1.41/grpc)"),
		// endpoints the policy does not know
		refused("build cache prune", "POST", "/build/prune", "", "default deny"),
		refused("plugin install", "POST", "/plugins/pull?remote=evil", "[]", "default deny"),
		refused("plugin list", "GET", "/v1.41/plugins", "", "default deny"),
		missing("plugin inspect", "GET", "/v1.41/plugins/vieux/sshfs:latest/json", "", "plugin vieux/sshfs:latest not found"),
		refused("swarm init", "POST", "/swarm/init", `{}`, "default deny"),
		refused("service create", "POST", "/services/create", `{}`, "default deny"),
		refused("secrets", "GET", "/secrets", "", "default deny"),
		refused("configs", "POST", "/configs/create", `{}`, "default deny"),
		refused("nodes", "GET", "/nodes", "", "default deny"),
		refused("tasks", "GET", "/tasks", "", "default deny"),
		refused("websocket attach", "GET", "/containers/mine/attach/ws", "", "default deny"),
		refused("unknown method", "PATCH", "/containers/mine/json", "", "default deny"),
		refused("system df", "GET", "/system/df", "", "system df"),
		refused("path with different case", "POST", "/Containers/create", hostConfig(`{"Privileged":true}`), "default deny"),
		// path tricks
		bad("double slash", "POST", "/v1.41//containers/create", hostConfig(`{"Privileged":true}`), "canonical"),
		bad("dot-dot", "GET", "/containers/mine/../theirs/json", "", "canonical"),
		bad("dot segment", "POST", "/./containers/create", hostConfig(`{"Privileged":true}`), "canonical"),
		bad("trailing slash", "POST", "/containers/create/", hostConfig(`{"Privileged":true}`), "canonical"),
		bad("percent-encoded letter", "POST", "/%63ontainers/create", hostConfig(`{"Privileged":true}`), "encoded"),
		bad("percent-encoded slash", "GET", "/containers/mine%2F..%2Ftheirs/json", "", "encoded"),
		bad("backslash", "GET", "/containers/theirs\\json", "", "encoded"),
		bad("version 2", "GET", "/v2.0/containers/json", "", "invalid API version"),
		bad("ancient version", "GET", "/v1.5/containers/json", "", "not supported"),
		bad("version without path", "GET", "/v1.41", "", "invalid API version"),
		bad("semicolon in a query", "GET", "/containers/json?all=1;filters=x", "", "';'"),
		{name: "form body overriding the rename", method: "POST", path: "/containers/mine/rename?name=ok", body: "name=theirs",
			contentType: "application/x-www-form-urlencoded", status: 400, message: "form bodies"},
		{name: "multipart body", method: "POST", path: "/containers/mine/rename?name=ok", body: "x",
			contentType: "multipart/form-data; boundary=x", status: 400, message: "form bodies"},
		{name: "a body over 1 MiB", method: "POST", path: create, body: `{"Env":["` + strings.Repeat("A", MaxJSONBody) + `"]}`, status: 413, message: "larger than 1 MiB"},
	}
	run(t, restricted, cases)
	t.Logf("%d attack cases", len(cases))
}

func forwardedBody(t *testing.T, got *recorded) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(got.Body), &body); err != nil {
		t.Fatalf("forwarded body %q: %v", got.Body, err)
	}
	return body
}

func wantJSON(t *testing.T, value any, want string) {
	t.Helper()
	data, _ := json.Marshal(value)
	if string(data) != want {
		t.Fatalf("got %s, want %s", data, want)
	}
}

// What a CI job does: allowed, and rewritten into the client's own names and labels.
func TestLegitimate(t *testing.T) {
	owner := OwnerLabel + "=agent"
	cases := []tc{
		{name: "ping", method: "GET", path: "/_ping", status: 200},
		{name: "HEAD ping", method: "HEAD", path: "/_ping", status: 200},
		{name: "version", method: "GET", path: "/v1.41/version", status: 200, check: func(t *testing.T, got *recorded) {
			if got.Path != "/v1.41/version" {
				t.Fatal(got.Path)
			}
		}},
		{name: "create: name prefixed, owner label set over a forged one, bind under the workspace", method: "POST",
			path: create + "?name=web", body: `{"Image":"busybox","Labels":{"` + OwnerLabel + `":"other","x":"y"},"HostConfig":{"Binds":["/srv/ci/sub:/w","/srv/ci/inner/x:/i:ro"],"CapAdd":["NET_BIND_SERVICE"],"CapDrop":["ALL"],"SecurityOpt":["no-new-privileges"],"Sysctls":{"net.ipv4.ip_forward":"1"},"Mounts":[{"Type":"tmpfs","Target":"/tmp"}],"AutoRemove":true}}`,
			status: 200, check: func(t *testing.T, got *recorded) {
				if got.Query.Get("name") != "agent.web" {
					t.Fatal(got.Query)
				}
				body := forwardedBody(t, got)
				wantJSON(t, body["Labels"], `{"`+OwnerLabel+`":"agent","x":"y"}`)
				wantJSON(t, body["HostConfig"].(map[string]any)["AutoRemove"], "true")
			}},
		{name: "create: an already prefixed name is kept", method: "POST", path: create + "?name=agent.web", body: `{}`, status: 200,
			check: func(t *testing.T, got *recorded) {
				if got.Query.Get("name") != "agent.web" {
					t.Fatal(got.Query)
				}
			}},
		{name: "create: chunked body", method: "POST", path: create, body: hostConfig(`{"Binds":["/srv/ci:/srv/ci"]}`), status: 200},
		{name: "create: named volumes take the client's names", method: "POST", path: create,
			body: hostConfig(`{"Binds":["data:/d","implicit:/i","theirvol:/t","agent.data:/a"],"Mounts":[{"Type":"volume","Source":"cache","Target":"/c"},{"Type":"volume","Target":"/anon"}]}`), status: 200,
			check: func(t *testing.T, got *recorded) {
				hc := forwardedBody(t, got)["HostConfig"].(map[string]any)
				wantJSON(t, hc["Binds"], `["agent.data:/d","agent.implicit:/i","agent.theirvol:/t","agent.data:/a"]`)
				wantJSON(t, hc["Mounts"].([]any)[0].(map[string]any)["Source"], `"agent.cache"`)
			}},
		{name: "create: own network and containers by their short names", method: "POST", path: create,
			body: `{"HostConfig":{"NetworkMode":"net","PidMode":"container:mine","VolumesFrom":["mine:ro"],"Links":["mine:db"]},"NetworkingConfig":{"EndpointsConfig":{"net":{"Aliases":["web"]}}}}`, status: 200,
			check: func(t *testing.T, got *recorded) {
				body := forwardedBody(t, got)
				hc := body["HostConfig"].(map[string]any)
				wantJSON(t, []any{hc["NetworkMode"], hc["PidMode"], hc["VolumesFrom"], hc["Links"]}, `["agent.net","container:c1mine",["c1mine:ro"],["agent.mine:db"]]`)
				wantJSON(t, body["NetworkingConfig"], `{"EndpointsConfig":{"agent.net":{"Aliases":["web"]}}}`)
			}},
		{name: "create: the chosen name stays an alias on the client's network", method: "POST", path: create + "?name=db",
			body: `{"HostConfig":{"NetworkMode":"net"},"NetworkingConfig":{"EndpointsConfig":{"net":{"Aliases":["database"]}}}}`, status: 200,
			check: func(t *testing.T, got *recorded) {
				wantJSON(t, forwardedBody(t, got)["NetworkingConfig"], `{"EndpointsConfig":{"agent.net":{"Aliases":["database","db"]}}}`)
			}},
		{name: "create: the chosen name as alias without an endpoint config", method: "POST", path: create + "?name=db",
			body: hostConfig(`{"NetworkMode":"net"}`), status: 200,
			check: func(t *testing.T, got *recorded) {
				wantJSON(t, forwardedBody(t, got)["NetworkingConfig"], `{"EndpointsConfig":{"agent.net":{"Aliases":["db"]}}}`)
			}},
		{name: "create: the default bridge", method: "POST", path: create, body: hostConfig(`{"NetworkMode":"bridge"}`), status: 200},
		{name: "list: owner filter added to the client's own", method: "GET", path: `/v1.41/containers/json?all=1&filters={"label":{"` + OwnerLabel + `=other":true}}`, status: 200,
			check: func(t *testing.T, got *recorded) {
				var f map[string]map[string]bool
				_ = json.Unmarshal([]byte(got.Query.Get("filters")), &f)
				if !f["label"][owner] || !f["label"][OwnerLabel+"=other"] {
					t.Fatal(got.Query)
				}
			}},
		{name: "list: legacy filter format", method: "GET", path: `/containers/json?filters={"status":["running"]}`, status: 200,
			check: func(t *testing.T, got *recorded) {
				wantJSON(t, got.Query.Get("filters"), `"{\"label\":{\"`+owner+`\":true},\"status\":{\"running\":true}}"`)
			}},
		{name: "inspect own by short name", method: "GET", path: "/v1.41/containers/mine/json", status: 200, check: func(t *testing.T, got *recorded) {
			if got.Path != "/v1.41/containers/c1mine/json" {
				t.Fatal(got.Path)
			}
		}},
		{name: "logs own by daemon name", method: "GET", path: "/containers/agent.mine/logs?follow=1&stdout=1", status: 200},
		{name: "archive own", method: "PUT", path: "/containers/c1mine/archive?path=/tmp", body: "tar", contentType: "application/x-tar", status: 200},
		{name: "rename own: new name prefixed", method: "POST", path: "/containers/mine/rename?name=web2", status: 200, check: func(t *testing.T, got *recorded) {
			if got.Query.Get("name") != "agent.web2" || got.Path != "/containers/c1mine/rename" {
				t.Fatal(got.Path, got.Query)
			}
		}},
		{name: "remove own", method: "DELETE", path: "/containers/mine?force=1", status: 200},
		{name: "exec create in own", method: "POST", path: "/containers/mine/exec", body: `{"Cmd":["sh"],"User":"root"}`, status: 200},
		{name: "exec start own", method: "POST", path: "/exec/e1/start", body: `{"Detach":true}`, status: 200},
		{name: "commit own", method: "POST", path: "/commit?container=mine&repo=snap", status: 200, check: func(t *testing.T, got *recorded) {
			if got.Query.Get("container") != "c1mine" {
				t.Fatal(got.Query)
			}
		}},
		{name: "volume: tmpfs", method: "POST", path: "/volumes/create", body: `{"Name":"scratch","DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=10m"}}`, status: 200,
			check: func(t *testing.T, got *recorded) {
				wantJSON(t, forwardedBody(t, got)["Name"], `"agent.scratch"`)
			}},
		{name: "volume: bind under the workspace", method: "POST", path: "/volumes/create", body: `{"Name":"ws","DriverOpts":{"type":"none","o":"bind","device":"/srv/ci/cache"}}`, status: 200},
		{name: "volume: inspect an implicit one", method: "GET", path: "/volumes/implicit", status: 200, check: func(t *testing.T, got *recorded) {
			if got.Path != "/volumes/agent.implicit" {
				t.Fatal(got.Path)
			}
		}},
		{name: "network: bridge", method: "POST", path: "/networks/create", body: `{"Name":"app","CheckDuplicate":true,"Internal":true}`, status: 200,
			check: func(t *testing.T, got *recorded) {
				wantJSON(t, forwardedBody(t, got)["Name"], `"agent.app"`)
			}},
		{name: "network: connect own", method: "POST", path: "/networks/net/connect", body: `{"Container":"mine"}`, status: 200, check: func(t *testing.T, got *recorded) {
			if got.Path != "/networks/n1/connect" || !strings.Contains(got.Body, `"c1mine"`) {
				t.Fatal(got.Path, got.Body)
			}
		}},
		{name: "network: inspect bridge", method: "GET", path: "/networks/bridge", status: 200},

		{name: "image pull", method: "POST", path: "/images/create?fromImage=busybox&tag=latest", status: 200},
		{name: "image inspect with slashes", method: "GET", path: "/images/dind-provisioner/busybox:local/json", status: 200},
		{name: "image save", method: "GET", path: "/images/get?names=busybox", status: 200},
		{name: "image tag (a new tag)", method: "POST", path: "/images/busybox:local/tag?repo=mine&tag=1", status: 201},
		{name: "bind the daemon's socket: the proxy's instead", method: "POST", path: create,
			body: hostConfig(`{"Binds":["/var/run/docker.sock:/var/run/docker.sock:ro","/run/docker.sock:/a","/run/dood/docker.sock:/b"],"Mounts":[{"Type":"bind","Source":"/var/run/docker.sock","Target":"/c"}]}`), status: 200,
			check: func(t *testing.T, got *recorded) {
				hc := forwardedBody(t, got)["HostConfig"].(map[string]any)
				wantJSON(t, hc["Binds"], `["/run/dind-provisioner/dood/agent/docker.sock:/var/run/docker.sock:ro","/run/dind-provisioner/dood/agent/docker.sock:/a","/run/dind-provisioner/dood/agent/docker.sock:/b"]`)
				wantJSON(t, hc["Mounts"].([]any)[0].(map[string]any)["Source"], `"/run/dind-provisioner/dood/agent/docker.sock"`)
			}},
		{name: "remove an image this client built", method: "DELETE", path: "/images/built:1", status: 200},
		{name: "events filtered", method: "GET", path: "/events?since=1", status: 200, check: func(t *testing.T, got *recorded) {
			if !strings.Contains(got.Query.Get("filters"), owner) {
				t.Fatal(got.Query)
			}
		}},
	}
	run(t, restricted, cases)
	t.Logf("%d legitimate cases", len(cases))
}

// Compose takes a project's network only when the daemon answers with the name it asked for: the
// client reads its networks under the names it gave them.
func TestChosenNetworkNames(t *testing.T) {
	_, base := start(t, restricted)
	_, inspected := send(t, base, tc{method: "GET", path: "/v1.41/networks/net"})
	_, listed := send(t, base, tc{method: "GET", path: "/v1.41/networks"})
	var one map[string]any
	var all []map[string]any
	if json.Unmarshal([]byte(inspected), &one) != nil || json.Unmarshal([]byte(listed), &all) != nil {
		t.Fatal(inspected, listed)
	}
	if one["Name"] != "net" || all[0]["Name"] != "net" || all[1]["Name"] != "theirnet" {
		t.Fatalf("inspected %v, listed %v", one["Name"], all)
	}
	_, allScope := start(t, Policy{Client: "agent", Scope: "all"})
	_, inspected = send(t, allScope, tc{method: "GET", path: "/v1.41/networks/n1"})
	if !strings.Contains(inspected, `"Name":"agent.net"`) {
		t.Fatal("scope all reads the daemon's names", inspected)
	}
}

func TestScopeAllStillChecksBodies(t *testing.T) {
	all := Policy{Client: "admin", Binds: []string{"/srv"}, Scope: "all"}
	run(t, all, []tc{
		{name: "inspect anyone's", method: "GET", path: "/containers/theirs/json", status: 200},
		{name: "names are not prefixed", method: "POST", path: create + "?name=web", body: `{}`, status: 200, check: func(t *testing.T, got *recorded) {
			if got.Query.Get("name") != "web" {
				t.Fatal(got.Query)
			}
		}},
		{name: "system df", method: "GET", path: "/system/df", status: 200},
		refusedCreate("still no privileged", `{"Privileged":true}`, "dood policy (client admin): privileged containers are not allowed"),
		refusedCreate("still no bind outside", `{"Binds":["/etc:/etc"]}`, "access.binds"),
		badRef("VolumesFrom someone else's (their binds were never checked)", "POST", create, hostConfig(`{"VolumesFrom":["theirs"]}`), "No such container"),
	})
}

// A client allowed the host's namespaces may use the classic builder (it reaches the daemon's
// network anyway); the rest of the policy still applies to it.
func TestClassicBuildWithHostNamespaces(t *testing.T) {
	hostNS := Policy{Client: "agent", HostNamespaces: true, Binds: []string{"/srv/ci"}, Scope: "own"}
	daemon := run(t, hostNS, []tc{
		{name: "build: owner label, own network", method: "POST", path: "/build?t=app&networkmode=net&labels={\"a\":\"b\"}", body: "tar", contentType: "application/x-tar", status: 200,
			check: func(t *testing.T, got *recorded) {
				if got.Query.Get("networkmode") != "agent.net" || got.Query.Get("labels") != `{"a":"b","`+OwnerLabel+`":"agent"}` {
					t.Fatal(got.Query)
				}
			}},
		{name: "build on the host network", method: "POST", path: "/build?networkmode=host&t=app2", body: "tar", contentType: "application/x-tar", status: 200},
		{name: "build over its own tag", method: "POST", path: "/build?t=app", body: "tar2", contentType: "application/x-tar", status: 200},
		refused("build with a cgroup parent", "POST", "/build?cgroupparent=/", "tar", "cgroup parent"),
		missing("build in another's network namespace", "POST", "/build?networkmode=container:theirs", "tar", "No such container"),
		refused("build over a shared tag", "POST", "/build?t=busybox:local", "tar", "image tag docker.io/library/busybox:local exists"),
		refused("BuildKit on the daemon", "POST", "/build?version=2", "", "the daemon's BuildKit"),
	})
	if daemon.images.imageOf("app") == "" {
		t.Fatal("the build's tag did not reach the fake daemon")
	}
}

func TestPrivilegedAndHostNamespacesAllowed(t *testing.T) {
	loose := Policy{Client: "ops", Privileged: true, HostNamespaces: true, Binds: []string{"/"}, Scope: "own"}
	run(t, loose, []tc{
		{name: "privileged", method: "POST", path: create, body: hostConfig(`{"Privileged":true,"CapAdd":["ALL"],"PidMode":"host","NetworkMode":"host","Binds":["/:/host"]}`), status: 200},
		{name: "privileged exec", method: "POST", path: "/containers/ops.x/exec", body: `{"Privileged":true}`, status: 404, message: "No such container"},
	})
}

func TestPolicyParsing(t *testing.T) {
	for _, bad := range []string{``, `{}`, `{"client":"a.b","scope":"own"}`, `{"client":"a","scope":"some"}`, `{"client":"a","scope":"own","binds":["rel"]}`,
		`{"client":"a","scope":"own","binds":["/a/../b"]}`, `{"client":"a","scope":"own","extra":1}`} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	p, err := ParsePolicy([]byte(`{"client":"agent","privileged":false,"hostNamespaces":false,"binds":["/srv/ci"],"scope":"own"}`))
	if err != nil || p.Client != "agent" || p.Binds[0] != "/srv/ci" {
		t.Fatal(p, err)
	}
}

// The attach stream survives the client closing its stdin: output still comes back.
func TestHijackKeepsHalfClose(t *testing.T) {
	_, base := start(t, restricted)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /v1.41/containers/mine/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
	reader := bufio.NewReader(conn)
	resp, err := http.ReadResponse(reader, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatal(resp, err)
	}
	fmt.Fprint(conn, "hello through the proxy")
	conn.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(reader)
	if string(out) != "HELLO THROUGH THE PROXY" {
		t.Fatalf("got %q", out)
	}
}

// An attach or exec start without an upgrade (dockerode's exec with stdin open) is a hijacked
// stream the daemon ends by closing: the client gets all of it and its end, every time (through
// the pooled transport, the daemon's close raced the transport's own, and the client lost the end).
func TestStreamWithoutUpgradeEndsWhole(t *testing.T) {
	_, base := start(t, restricted)
	for i := 0; i < 200; i++ {
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		// The client keeps its side open, as dockerode does with stdin open.
		fmt.Fprint(conn, "POST /v1.41/containers/mine/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(i, err)
		}
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			t.Fatal(i, resp.StatusCode, string(body))
		}
		out, err := io.ReadAll(resp.Body)
		conn.Close()
		if err != nil || string(out) != "exited at once" {
			t.Fatalf("attempt %d: got %q, %v", i, out, err)
		}
	}
}

// docker load streams: an archive far larger than any buffer arrives whole, with scope own
// (read and written again entry by entry) as with scope all (passed on as it is).
func TestLoadStreams(t *testing.T) {
	for _, policy := range []Policy{restricted, {Client: "admin", Scope: "all"}} {
		daemon, base := start(t, policy)
		size := int64(64 << 20)
		reader, writer := io.Pipe()
		go func() {
			tw := tar.NewWriter(writer)
			tw.WriteHeader(&tar.Header{Name: "layer/layer.tar", Mode: 0o644, Size: size})
			chunk := make([]byte, 1<<20)
			for written := int64(0); written < size; written += int64(len(chunk)) {
				tw.Write(chunk)
			}
			manifest := `[{"Config":"ffff.json","RepoTags":["big:1"]}]`
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(manifest))})
			tw.Write([]byte(manifest))
			tw.Close()
			writer.Close()
		}()
		req, _ := http.NewRequest("POST", base+"/v1.41/images/load?quiet=1", reader)
		req.Header.Set("Content-Type", "application/x-tar")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatal(resp, err)
		}
		resp.Body.Close()
		if got := daemon.last(); got.Length < size || daemon.images.imageOf("big:1") != "sha256:ffff" {
			t.Fatalf("%s: daemon received %d bytes, want more than %d and big:1 loaded", policy.Scope, got.Length, size)
		}
	}
}
