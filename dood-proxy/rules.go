package main

import (
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Rule names, as they appear in refusals: the stack-file key a refusal comes from.
const (
	rulePrivileged = "access.privileged: false"
	ruleHostNS     = "access.hostNamespaces: false"
	ruleBinds      = "access.binds"
	ruleScope      = "access.scope: own"
)

// Docker's default capability set: adding one of these changes nothing.
var defaultCaps = map[string]bool{
	"CHOWN": true, "DAC_OVERRIDE": true, "FSETID": true, "FOWNER": true, "MKNOD": true, "NET_RAW": true,
	"SETGID": true, "SETUID": true, "SETFCAP": true, "SETPCAP": true, "NET_BIND_SERVICE": true,
	"SYS_CHROOT": true, "KILL": true, "AUDIT_WRITE": true,
}

// Sysctls that live in a container's own ipc or network namespace.
var namespacedSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

func cleanAbs(p string) string { return path.Clean(p) }

// socketRewrite gives a container that bind-mounts the daemon's socket (as Testcontainers' reaper
// and other tools that drive Docker do) the proxy's socket instead: the same client, the same
// policy and scope, so the tool sees and touches only what the client may.
type socketRewrite struct {
	// hostDir is the proxy's socket directory on the daemon's machine ("": no rewrite).
	hostDir string
	// daemon is the daemon's socket on its machine; client is the proxy's socket as the client sees it.
	daemon, client string
}

// replacement is the proxy's socket on the daemon's machine when source names a Docker socket:
// the daemon's (under /run or /var/run, which are one directory), the usual /var/run/docker.sock,
// or the path at which the client itself reaches the proxy.
func (s socketRewrite) replacement(source string) (string, bool) {
	if s.hostDir == "" || !strings.HasPrefix(source, "/") {
		return "", false
	}
	source = runDir(cleanAbs(source))
	for _, socket := range []string{s.daemon, "/var/run/docker.sock", s.client} {
		if socket != "" && source == runDir(cleanAbs(socket)) {
			return path.Join(s.hostDir, "docker.sock"), true
		}
	}
	return "", false
}

// runDir spells /var/run/... as /run/...: on the daemon's machine they are one directory.
func runDir(p string) string {
	if rest, ok := strings.CutPrefix(p, "/var/run/"); ok {
		return "/run/" + rest
	}
	return p
}

// resolveHostPath follows symbolic links in p as the daemon's mount would, through the allowed
// roots the proxy container has mounted at the same paths; the part that does not exist yet
// (the daemon creates it) is appended as is.
func resolveHostPath(p string) string {
	rest := ""
	for current := p; ; current = path.Dir(current) {
		if resolved, err := filepath.EvalSymlinks(current); err == nil {
			return path.Join(resolved, rest)
		} else if !os.IsNotExist(err) || current == "/" {
			return p
		}
		rest = path.Join(path.Base(current), rest)
	}
}

// checkHostPath allows a bind source only under one of the policy's roots, after cleaning and
// following links (a link in the workspace to / must not let the client mount /).
func (x *Proxy) checkHostPath(source, what string) *Refusal {
	if !strings.HasPrefix(source, "/") {
		return badRequest("%s: %q is not an absolute path", what, source)
	}
	resolved := x.resolve(cleanAbs(source))
	for _, root := range x.policy.Binds {
		root = x.resolve(root)
		if resolved == root || strings.HasPrefix(resolved, strings.TrimSuffix(root, "/")+"/") {
			return nil
		}
	}
	allowed := strings.Join(x.policy.Binds, ", ")
	if allowed == "" {
		allowed = "none"
	}
	return x.policy.deny(ruleBinds, "%s %s is outside the allowed host paths (%s)", what, source, allowed)
}

// checkPropagation refuses shared mount propagation, which would carry the container's mounts back to the host.
func (x *Proxy) checkPropagation(mode, what string) *Refusal {
	if mode == "shared" || mode == "rshared" {
		return x.policy.deny(ruleBinds, "%s with %s propagation is not allowed", what, mode)
	}
	return nil
}

// checkPrivilegedHostConfig covers the fields of a HostConfig (or an update's Resources) that
// give a container more than Docker's default confinement.
func (x *Proxy) checkPrivilegedHostConfig(hc map[string]any) *Refusal {
	p := x.policy
	if p.Privileged || hc == nil {
		return nil
	}
	if privileged, r := boolField(hc, "Privileged"); r != nil || privileged {
		return firstRefusal(r, p.deny(rulePrivileged, "privileged containers are not allowed"))
	}
	caps, r := stringListField(hc, "CapAdd")
	if r != nil {
		return r
	}
	for _, c := range caps {
		name := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		if !defaultCaps[name] {
			return p.deny(rulePrivileged, "adding capability %s is not allowed (only Docker's default set)", c)
		}
	}
	for _, key := range []string{"Devices", "DeviceRequests", "DeviceCgroupRules"} {
		if l, r := listField(hc, key); r != nil || len(l) > 0 {
			return firstRefusal(r, p.deny(rulePrivileged, "host devices (%s) are not allowed", key))
		}
	}
	opts, r := stringListField(hc, "SecurityOpt")
	if r != nil {
		return r
	}
	for _, o := range opts {
		if o != "no-new-privileges" && !strings.HasPrefix(o, "no-new-privileges=") && !strings.HasPrefix(o, "no-new-privileges:") {
			return p.deny(rulePrivileged, "security option %q is not allowed (only no-new-privileges)", o)
		}
	}
	for _, key := range []string{"MaskedPaths", "ReadonlyPaths"} {
		if _, v := field(hc, key); v != nil {
			return p.deny(rulePrivileged, "changing %s (systempaths=unconfined) is not allowed", key)
		}
	}
	if parent, r := stringField(hc, "CgroupParent"); r != nil || parent != "" {
		return firstRefusal(r, p.deny(rulePrivileged, "a cgroup parent (%s) is not allowed", parent))
	}
	if runtime, r := stringField(hc, "Runtime"); r != nil || (runtime != "" && runtime != "runc") {
		return firstRefusal(r, p.deny(rulePrivileged, "runtime %q is not allowed", runtime))
	}
	sysctls, r := objectField(hc, "Sysctls")
	if r != nil {
		return r
	}
	for key := range sysctls {
		if !namespacedSysctls[key] && !strings.HasPrefix(key, "net.") && !strings.HasPrefix(key, "fs.mqueue.") {
			return p.deny(rulePrivileged, "sysctl %s is not namespaced and not allowed", key)
		}
	}
	return nil
}

func firstRefusal(rs ...*Refusal) *Refusal {
	for _, r := range rs {
		if r != nil {
			return r
		}
	}
	return nil
}

// checkNamespaces refuses the host's namespaces and resolves container: joins (own ones only under scope own).
func (x *Proxy) checkNamespaces(hc map[string]any) *Refusal {
	for _, key := range []string{"PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode", "NetworkMode"} {
		mode, r := stringField(hc, key)
		if r != nil {
			return r
		}
		if mode == "host" && !x.policy.HostNamespaces {
			return x.policy.deny(ruleHostNS, "the host's namespace (%s: host) is not allowed", key)
		}
		if ref, ok := strings.CutPrefix(mode, "container:"); ok {
			c, r := x.ownContainer(ref)
			if r != nil {
				return r
			}
			setField(hc, key, "container:"+c.ID)
		} else if key == "NetworkMode" && mode != "" {
			name, r := x.ownNetworkName(mode)
			if r != nil {
				return r
			}
			setField(hc, key, name)
		}
	}
	return nil
}

// checkBinds checks Binds, Mounts and VolumesFrom, and gives named volumes the client's names.
func (x *Proxy) checkBinds(hc map[string]any) *Refusal {
	binds, r := stringListField(hc, "Binds")
	if r != nil {
		return r
	}
	for i, bind := range binds {
		parts := strings.Split(bind, ":")
		if len(parts) < 2 {
			return badRequest("Binds: invalid volume specification %q", bind)
		}
		if len(parts) > 2 {
			for _, opt := range strings.Split(parts[2], ",") {
				if r := x.checkPropagation(opt, "bind mount "+bind); r != nil {
					return r
				}
			}
		}
		if socket, ok := x.sockets.replacement(parts[0]); ok {
			parts[0] = socket
			binds[i] = strings.Join(parts, ":")
			continue
		}
		if strings.HasPrefix(parts[0], "/") {
			if r := x.checkHostPath(parts[0], "bind mount of host path"); r != nil {
				return r
			}
			continue
		}
		name, r := x.ownVolumeName(parts[0])
		if r != nil {
			return r
		}
		parts[0] = name
		binds[i] = strings.Join(parts, ":")
	}
	if binds != nil {
		setField(hc, "Binds", binds)
	}
	mounts, r := listField(hc, "Mounts")
	if r != nil {
		return r
	}
	for _, m := range mounts {
		mount, ok := m.(map[string]any)
		if !ok {
			return badRequest("Mounts: expected a list of objects")
		}
		if r := x.checkMount(mount); r != nil {
			return r
		}
	}
	from, r := stringListField(hc, "VolumesFrom")
	if r != nil {
		return r
	}
	for i, spec := range from {
		ref, mode, _ := strings.Cut(spec, ":")
		// Another container's volumes include its binds, which this policy never checked.
		c, r := x.ownContainerAlways(ref)
		if r != nil {
			return r
		}
		from[i] = strings.TrimSuffix(c.ID+":"+mode, ":")
	}
	if from != nil {
		setField(hc, "VolumesFrom", from)
	}
	return nil
}

func (x *Proxy) checkMount(mount map[string]any) *Refusal {
	kind, r1 := stringField(mount, "Type")
	source, r2 := stringField(mount, "Source")
	if r := firstRefusal(r1, r2); r != nil {
		return r
	}
	switch kind {
	case "bind":
		opts, r := objectField(mount, "BindOptions")
		if r != nil {
			return r
		}
		if opts != nil {
			propagation, r := stringField(opts, "Propagation")
			if r := firstRefusal(r, x.checkPropagation(propagation, "bind mount "+source)); r != nil {
				return r
			}
		}
		if socket, ok := x.sockets.replacement(source); ok {
			setField(mount, "Source", socket)
			return nil
		}
		return x.checkHostPath(source, "bind mount of host path")
	case "volume":
		if opts, r := objectField(mount, "VolumeOptions"); r != nil {
			return r
		} else if opts != nil {
			driver, r := objectField(opts, "DriverConfig")
			if r != nil {
				return r
			}
			if driver != nil {
				name, r1 := stringField(driver, "Name")
				options, r2 := objectField(driver, "Options")
				if r := firstRefusal(r1, r2, x.checkVolumeDriver(name, options)); r != nil {
					return r
				}
			}
		}
		if source == "" {
			return nil
		}
		name, r := x.ownVolumeName(source)
		if r != nil {
			return r
		}
		setField(mount, "Source", name)
		return nil
	case "tmpfs":
		return nil
	default:
		return x.policy.deny(ruleBinds, "mounts of type %q are not allowed (bind, volume and tmpfs are)", kind)
	}
}

// checkVolumeDriver allows the local driver with no options, a tmpfs, or a bind under the allowed paths.
func (x *Proxy) checkVolumeDriver(driver string, options map[string]any) *Refusal {
	if driver != "" && driver != "local" {
		return x.policy.deny(rulePrivileged, "volume driver %q is not allowed (only local)", driver)
	}
	opt := func(k string) string { s, _ := options[k].(string); return s }
	for k, v := range options {
		if _, ok := v.(string); !ok {
			return badRequest("volume driver option %s: expected a string", k)
		}
	}
	for _, o := range strings.Split(opt("o"), ",") {
		if o == "bind" || o == "rbind" {
			return x.checkHostPath(opt("device"), "volume bound to host path")
		}
	}
	if len(options) == 0 || opt("type") == "tmpfs" {
		return nil
	}
	return x.policy.deny(ruleBinds, "volume driver options type=%q device=%q are not allowed (tmpfs or a bind under the allowed host paths only)", opt("type"), opt("device"))
}

// checkContainerCreate checks POST /containers/create and labels the container as the client's.
// name is the name the client chose (the daemon gets it prefixed).
func (x *Proxy) checkContainerCreate(body map[string]any, name string) *Refusal {
	hc, r := objectField(body, "HostConfig")
	if r != nil {
		return r
	}
	if hc == nil {
		hc = map[string]any{}
		setField(body, "HostConfig", hc)
	}
	if r := firstRefusal(x.checkPrivilegedHostConfig(hc), x.checkNamespaces(hc), x.checkBinds(hc)); r != nil {
		return r
	}
	if r := x.checkLinks(hc); r != nil {
		return r
	}
	if r := x.checkEndpoints(body); r != nil {
		return r
	}
	if r := x.aliasChosenName(body, hc, name); r != nil {
		return r
	}
	return x.policy.withOwnerLabel(body, "Labels")
}

// aliasChosenName keeps the name the client chose resolvable on its own networks, as without
// the prefix: a container it named "db" answers to "db" for its other containers (compose style).
func (x *Proxy) aliasChosenName(body, hc map[string]any, name string) *Refusal {
	mode, _ := stringField(hc, "NetworkMode")
	if name == "" || x.policy.prefixed(name) == name || mode == "" || predefinedNetworks[mode] || strings.HasPrefix(mode, "container:") {
		return nil
	}
	nc, r := objectField(body, "NetworkingConfig")
	if r != nil {
		return r
	}
	if nc == nil {
		nc = map[string]any{}
		setField(body, "NetworkingConfig", nc)
	}
	endpoints, r := objectField(nc, "EndpointsConfig")
	if r != nil {
		return r
	}
	if endpoints == nil {
		endpoints = map[string]any{}
		setField(nc, "EndpointsConfig", endpoints)
	}
	endpoint, ok := endpoints[mode].(map[string]any)
	if !ok {
		endpoint = map[string]any{}
		endpoints[mode] = endpoint
	}
	aliases, r := stringListField(endpoint, "Aliases")
	if r != nil {
		return r
	}
	setField(endpoint, "Aliases", append(aliases, name))
	return nil
}

func (x *Proxy) checkLinks(hc map[string]any) *Refusal {
	links, r := stringListField(hc, "Links")
	if r != nil {
		return r
	}
	for i, link := range links {
		ref, alias, _ := strings.Cut(link, ":")
		c, r := x.ownContainer(strings.TrimPrefix(ref, "/"))
		if r != nil {
			return r
		}
		links[i] = strings.TrimPrefix(c.Name, "/") + ":" + alias
	}
	if links != nil {
		setField(hc, "Links", links)
	}
	return nil
}

// checkEndpoints resolves the networks a new container joins (NetworkingConfig.EndpointsConfig).
func (x *Proxy) checkEndpoints(body map[string]any) *Refusal {
	nc, r := objectField(body, "NetworkingConfig")
	if r != nil || nc == nil {
		return r
	}
	endpoints, r := objectField(nc, "EndpointsConfig")
	if r != nil || endpoints == nil {
		return r
	}
	renamed := map[string]any{}
	for ref, config := range endpoints {
		if ref == "host" && !x.policy.HostNamespaces {
			return x.policy.deny(ruleHostNS, "the host's network is not allowed")
		}
		name, r := x.ownNetworkName(ref)
		if r != nil {
			return r
		}
		renamed[name] = config
	}
	setField(nc, "EndpointsConfig", renamed)
	return nil
}

// checkContainerUpdate checks POST /containers/{id}/update (its resources include devices and cgroup parent).
func (x *Proxy) checkContainerUpdate(body map[string]any) *Refusal {
	return x.checkPrivilegedHostConfig(body)
}

// checkExecCreate refuses a privileged exec, which would give a process every capability in any container.
func (x *Proxy) checkExecCreate(body map[string]any) *Refusal {
	if privileged, r := boolField(body, "Privileged"); r != nil || (privileged && !x.policy.Privileged) {
		return firstRefusal(r, x.policy.deny(rulePrivileged, "privileged exec is not allowed"))
	}
	return nil
}

// checkVolumeCreate checks POST /volumes/create, names and labels the volume as the client's.
func (x *Proxy) checkVolumeCreate(body map[string]any) *Refusal {
	driver, r1 := stringField(body, "Driver")
	options, r2 := objectField(body, "DriverOpts")
	name, r3 := stringField(body, "Name")
	if r := firstRefusal(r1, r2, r3, x.checkVolumeDriver(driver, options)); r != nil {
		return r
	}
	if name != "" {
		setField(body, "Name", x.policy.prefixed(name))
	}
	return x.policy.withOwnerLabel(body, "Labels")
}

// Network drivers that attach to the host's interfaces.
var hostNetworkDrivers = map[string]bool{"host": true, "macvlan": true, "ipvlan": true}

// checkNetworkCreate checks POST /networks/create, names and labels the network as the client's.
func (x *Proxy) checkNetworkCreate(body map[string]any) *Refusal {
	p := x.policy
	driver, r1 := stringField(body, "Driver")
	name, r2 := stringField(body, "Name")
	options, r3 := objectField(body, "Options")
	ingress, r4 := boolField(body, "Ingress")
	if r := firstRefusal(r1, r2, r3, r4); r != nil {
		return r
	}
	if hostNetworkDrivers[driver] && !p.HostNamespaces {
		return p.deny(ruleHostNS, "network driver %s attaches to the host's interfaces and is not allowed", driver)
	}
	if driver != "" && driver != "bridge" && !hostNetworkDrivers[driver] {
		return p.deny(rulePrivileged, "network driver %q is not allowed (only bridge)", driver)
	}
	if _, v := field(options, "com.docker.network.bridge.name"); v != nil && !p.HostNamespaces {
		return p.deny(ruleHostNS, "choosing the host bridge interface (com.docker.network.bridge.name) is not allowed")
	}
	if _, v := field(body, "ConfigFrom"); v != nil || ingress {
		return p.deny(rulePrivileged, "swarm network options (ConfigFrom, Ingress) are not allowed")
	}
	setField(body, "Name", p.prefixed(name))
	return p.withOwnerLabel(body, "Labels")
}
