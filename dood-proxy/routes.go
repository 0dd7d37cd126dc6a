package main

import (
	"encoding/json"
	"net/http"
	"strings"
)

// routes is every endpoint the proxy forwards; anything else is refused (default deny):
// plugins, swarm, services, tasks, secrets, configs, nodes, BuildKit's session and gRPC
// endpoints, websocket attach and the build cache.
var routes []route

func init() {
	add := func(method, pattern string, h handler) {
		routes = append(routes, route{method, strings.Split(pattern, "/")[1:], h})
	}
	for _, p := range []string{"/_ping", "/version", "/info"} {
		add(http.MethodGet, p, pass)
	}
	add(http.MethodPost, "/auth", pass)
	add(http.MethodGet, "/events", ownFilter)
	add(http.MethodGet, "/system/df", scopeAllOnly("system df lists every client's objects"))
	// No plugin exists for a client: `docker inspect NAME` tries plugins last and says "No such object".
	add(http.MethodGet, "/plugins/{name+}/json", func(_ *Proxy, c *call) *Refusal {
		return &Refusal{http.StatusNotFound, "plugin " + c.name + " not found"}
	})

	add(http.MethodGet, "/containers/json", ownFilter)
	add(http.MethodPost, "/containers/create", withJSONBody(func(x *Proxy, c *call, body map[string]any) *Refusal {
		name := strings.TrimPrefix(c.query.Get("name"), "/")
		if name != "" {
			c.query.Set("name", x.policy.prefixed(name))
		}
		return referenceError(x.checkContainerCreate(body, name))
	}))
	add(http.MethodPost, "/containers/prune", ownFilter)
	for _, op := range []string{"json", "top", "logs", "changes", "export", "stats", "archive"} {
		add(http.MethodGet, "/containers/{id}/"+op, ownContainerAt(1))
	}
	add(http.MethodPut, "/containers/{id}/archive", ownContainerAt(1))
	for _, op := range []string{"start", "stop", "restart", "kill", "pause", "unpause", "wait", "resize", "attach"} {
		add(http.MethodPost, "/containers/{id}/"+op, ownContainerAt(1))
	}
	add(http.MethodDelete, "/containers/{id}", ownContainerAt(1))
	add(http.MethodPost, "/containers/{id}/update", then(ownContainerAt(1), withJSONBody(func(x *Proxy, _ *call, body map[string]any) *Refusal {
		return x.checkContainerUpdate(body)
	})))
	add(http.MethodPost, "/containers/{id}/rename", then(ownContainerAt(1), func(x *Proxy, c *call) *Refusal {
		c.query.Set("name", x.policy.prefixed(strings.TrimPrefix(c.query.Get("name"), "/")))
		return nil
	}))
	add(http.MethodPost, "/containers/{id}/exec", then(ownContainerAt(1), withJSONBody(func(x *Proxy, _ *call, body map[string]any) *Refusal {
		return x.checkExecCreate(body)
	})))
	add(http.MethodPost, "/commit", commitContainer)

	add(http.MethodPost, "/exec/{id}/start", ownExec)
	add(http.MethodPost, "/exec/{id}/resize", ownExec)
	add(http.MethodGet, "/exec/{id}/json", ownExec)

	// Images are shared: a job uses what others pulled, built or loaded (images.go).
	for _, p := range []string{"/images/json", "/images/search", "/images/get", "/images/{name+}/json", "/images/{name+}/history", "/images/{name+}/get", "/distribution/{name+}/json"} {
		add(http.MethodGet, p, pass)
	}
	add(http.MethodPost, "/images/{name+}/push", pass)
	add(http.MethodPost, "/images/{name+}/tag", tagImage)
	add(http.MethodPost, "/images/create", createImage)
	add(http.MethodPost, "/images/load", loadImages)
	add(http.MethodPost, "/images/prune", ownFilter)
	add(http.MethodDelete, "/images/{name+}", removeImage)
	add(http.MethodPost, "/build", checkBuild)
	add(http.MethodPost, "/session", buildkitOfDaemon)
	add(http.MethodPost, "/grpc", buildkitOfDaemon)

	for kind, object := range map[string]struct {
		create func(*Proxy, map[string]any) *Refusal
		at     handler
		// shown rewrites what the client reads of the objects (see chosenNetworkNames).
		shown handler
	}{
		"volumes":  {(*Proxy).checkVolumeCreate, ownVolumeAt(1), pass},
		"networks": {(*Proxy).checkNetworkCreate, ownNetworkAt(1), chosenNetworkNames},
	} {
		add(http.MethodGet, "/"+kind, then(ownFilter, object.shown))
		add(http.MethodPost, "/"+kind+"/create", withJSONBody(func(x *Proxy, _ *call, body map[string]any) *Refusal {
			return object.create(x, body)
		}))
		add(http.MethodPost, "/"+kind+"/prune", ownFilter)
		add(http.MethodGet, "/"+kind+"/{id}", then(object.at, object.shown))
		add(http.MethodDelete, "/"+kind+"/{id}", object.at)
	}
	for _, op := range []string{"connect", "disconnect"} {
		add(http.MethodPost, "/networks/{id}/"+op, then(ownNetworkAt(1), withJSONBody(func(x *Proxy, _ *call, body map[string]any) *Refusal {
			ref, r := stringField(body, "Container")
			if r != nil {
				return r
			}
			o, r := x.ownContainer(ref)
			if r == nil {
				setField(body, "Container", o.ID)
			}
			return r
		})))
	}
}

func pass(*Proxy, *call) *Refusal { return nil }

// chosenNetworkNames shows the client its networks under the names it gave them: Compose looks a
// project's network up by name and takes it only when the daemon answers with that very name
// (`docker network ls` then lists `app`, where the daemon has `agent.app`).
func chosenNetworkNames(x *Proxy, c *call) *Refusal {
	if !x.policy.own() {
		return nil
	}
	c.edit = func(answer any) {
		objects, ok := answer.([]any)
		if !ok {
			objects = []any{answer}
		}
		for _, o := range objects {
			if network, ok := o.(map[string]any); ok {
				if name, ok := network["Name"].(string); ok {
					if chosen, prefixed := strings.CutPrefix(name, x.policy.Client+"."); prefixed {
						network["Name"] = chosen
					}
				}
			}
		}
	}
	return nil
}

// referenceError turns "No such container" about a reference inside a request into a 400: the
// CLI takes a 404 from container create for a missing image and tries to pull it.
func referenceError(r *Refusal) *Refusal {
	if r != nil && r.Status == http.StatusNotFound {
		return &Refusal{http.StatusBadRequest, r.Message}
	}
	return r
}

func then(handlers ...handler) handler {
	return func(x *Proxy, c *call) *Refusal {
		for _, h := range handlers {
			if r := h(x, c); r != nil {
				return r
			}
		}
		return nil
	}
}

func scopeAllOnly(why string) handler {
	return func(x *Proxy, _ *call) *Refusal {
		if x.policy.own() {
			return x.policy.deny(ruleScope, "%s", why)
		}
		return nil
	}
}

// ownContainerAt resolves the container named by path segment i, rewriting it to the id.
func ownContainerAt(i int) handler {
	return func(x *Proxy, c *call) *Refusal {
		if !x.policy.own() {
			return nil
		}
		o, r := x.ownContainer(c.segs[i])
		if r == nil {
			c.segs[i] = o.ID
		}
		return r
	}
}

// ownNetworkAt and ownVolumeAt resolve the network or volume named by path segment i (the
// predefined networks are everyone's to inspect), rewriting it to the daemon's reference.
func ownNetworkAt(i int) handler {
	return ownObjectAt(i, "networks", (*Proxy).labelled, func(ref string) string { return "network " + ref + " not found" },
		func(o *object) string { return o.ID })
}

func ownVolumeAt(i int) handler {
	return ownObjectAt(i, "volumes", (*Proxy).ownedVolume, func(ref string) string { return "get " + ref + ": no such volume" },
		func(o *object) string { return o.Name })
}

func ownObjectAt(i int, kind string, owned func(*Proxy, *object) bool, missing func(string) string, daemonRef func(*object) string) handler {
	return func(x *Proxy, c *call) *Refusal {
		ref := c.segs[i]
		if !x.policy.own() || (kind == "networks" && predefinedNetworks[ref] && c.r.Method == http.MethodGet) {
			return nil
		}
		o, r := x.own(kind, ref, func(o *object) bool { return owned(x, o) })
		if r == nil && o == nil {
			return &Refusal{http.StatusNotFound, missing(ref)}
		}
		if r == nil {
			c.segs[i] = daemonRef(o)
		}
		return r
	}
}

// ownExec allows an exec instance only in a container of this client.
func ownExec(x *Proxy, c *call) *Refusal {
	if !x.policy.own() {
		return nil
	}
	id := c.segs[1]
	e, r := x.inspect("exec", id)
	if r != nil {
		return r
	}
	if e == nil {
		return notFound("exec instance", id)
	}
	if _, r := x.ownContainerAlways(e.ContainerID); r != nil {
		return notFound("exec instance", id)
	}
	return nil
}

// ownFilter adds the owner label to a list, prune or events request's filters.
func ownFilter(x *Proxy, c *call) *Refusal {
	if !x.policy.own() {
		return nil
	}
	filters := map[string]map[string]bool{}
	if raw := c.query.Get("filters"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &filters); err != nil {
			var legacy map[string][]string
			if err := json.Unmarshal([]byte(raw), &legacy); err != nil {
				return badRequest("filters: %v", err)
			}
			filters = map[string]map[string]bool{}
			for key, values := range legacy {
				filters[key] = map[string]bool{}
				for _, v := range values {
					filters[key][v] = true
				}
			}
		}
	}
	if filters["label"] == nil {
		filters["label"] = map[string]bool{}
	}
	filters["label"][OwnerLabel+"="+x.policy.Client] = true
	data, _ := json.Marshal(filters)
	c.query.Set("filters", string(data))
	return nil
}

// checkBuild checks POST /build, the classic builder (its body, the context, streams through
// unread). The daemon runs it on its own machine: it fetches `ADD <url>` sources and a remote
// context from that machine's network, and the Dockerfile that says so is inside the context
// (and its ARGs, and its base images' ONBUILD triggers). So only a client allowed the host's
// namespaces gets it; the others build with BuildKit on their own builder.
func checkBuild(x *Proxy, c *call) *Refusal {
	p := x.policy
	if c.query.Get("version") == "2" {
		return buildkitOfDaemon(x, c)
	}
	if !p.HostNamespaces {
		return p.deny(ruleHostNS, "the classic builder is not allowed: the daemon would fetch ADD URLs and remote contexts from its own machine's network; build with BuildKit on this client's builder (docker build, docker buildx build)")
	}
	if parent := c.query.Get("cgroupparent"); parent != "" && !p.Privileged {
		return p.deny(rulePrivileged, "a cgroup parent (%s) is not allowed", parent)
	}
	switch mode := c.query.Get("networkmode"); {
	case mode == "host" && !p.HostNamespaces:
		return p.deny(ruleHostNS, "the host's namespace (networkmode: host) is not allowed")
	case strings.HasPrefix(mode, "container:"):
		o, r := x.ownContainer(strings.TrimPrefix(mode, "container:"))
		if r != nil {
			return r
		}
		c.query.Set("networkmode", "container:"+o.ID)
	case mode != "":
		name, r := x.ownNetworkName(mode)
		if r != nil {
			return r
		}
		c.query.Set("networkmode", name)
	}
	labels := map[string]string{}
	if raw := c.query.Get("labels"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &labels); err != nil {
			return badRequest("labels: %v", err)
		}
	}
	labels[OwnerLabel] = p.Client
	data, _ := json.Marshal(labels)
	c.query.Set("labels", string(data))
	var targets []string
	for _, t := range c.query["t"] {
		ref, err := parseImageRef(t)
		if err != nil || ref.digest != "" {
			return badRequest("build tag %q: not a tag", t)
		}
		if r := x.mayWriteTag(ref.String()); r != nil {
			return r
		}
		targets = append(targets, ref.String())
	}
	c.done = func(status int, messages []streamMessage) {
		id := ""
		for _, m := range messages {
			if m.Error != "" {
				return
			}
			if m.Aux.ID != "" {
				id = m.Aux.ID
			}
		}
		for _, t := range targets {
			if status < 300 && id != "" {
				x.recordTag(t, id)
			}
		}
	}
	return nil
}
