package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// object is what the proxy needs to know of a container, network, volume or exec on the daemon.
type object struct {
	ID          string `json:"Id"`
	Name        string `json:"Name"`
	ContainerID string `json:"ContainerID"`
	RepoTags    []string
	RepoDigests []string
	Labels      map[string]string
	Config      struct{ Labels map[string]string }
}

func (o *object) owner() string {
	if o.Labels != nil {
		return o.Labels[OwnerLabel]
	}
	return o.Config.Labels[OwnerLabel]
}

// inspect asks the daemon about an object; nil when there is none.
func (x *Proxy) inspect(kind, ref string) (*object, *Refusal) {
	// Only an image name holds a '/'; anything else that does would make the lookup another path.
	if ref == "" || strings.ContainsAny(ref, "?#%\\") || (kind != "images" && strings.Contains(ref, "/")) || strings.Contains("/"+ref+"/", "/../") {
		return nil, nil
	}
	target := url.URL{Scheme: "http", Host: "docker", Path: "/" + kind + "/" + ref + "/json"}
	if kind == "volumes" || kind == "networks" {
		target.Path = "/" + kind + "/" + ref
	}
	resp, err := x.lookups.Get(target.String())
	if err != nil {
		return nil, &Refusal{http.StatusBadGateway, fmt.Sprintf("dood policy: the daemon did not answer: %v", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &Refusal{http.StatusBadGateway, fmt.Sprintf("dood policy: looking up %s %s: daemon answered %s", kind, ref, resp.Status)}
	}
	var o object
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		return nil, &Refusal{http.StatusBadGateway, fmt.Sprintf("dood policy: looking up %s %s: %v", kind, ref, err)}
	}
	return &o, nil
}

// own finds an object the client owns by the reference it gave, or by that reference with the
// client's prefix (the name it asked for at creation); anything else does not exist for it.
func (x *Proxy) own(kind, ref string, owned func(*object) bool) (*object, *Refusal) {
	for _, candidate := range []string{ref, x.policy.prefixed(ref)} {
		o, r := x.inspect(kind, candidate)
		if r != nil {
			return nil, r
		}
		if o != nil && owned(o) {
			return o, nil
		}
	}
	return nil, nil
}

func (x *Proxy) labelled(o *object) bool { return o.owner() == x.policy.Client }

// ownContainer resolves a container reference under the policy's scope.
func (x *Proxy) ownContainer(ref string) (*object, *Refusal) {
	if !x.policy.own() {
		return &object{ID: ref, Name: ref}, nil
	}
	return x.ownContainerAlways(ref)
}

// ownContainerAlways resolves a reference to a container this client created, whatever the scope.
func (x *Proxy) ownContainerAlways(ref string) (*object, *Refusal) {
	o, r := x.own("containers", ref, x.labelled)
	if r == nil && o == nil {
		return nil, notFound("container", ref)
	}
	return o, r
}

// Networks every client may join.
var predefinedNetworks = map[string]bool{"bridge": true, "default": true, "none": true, "host": true}

func (x *Proxy) ownNetworkName(ref string) (string, *Refusal) {
	if !x.policy.own() || predefinedNetworks[ref] {
		return ref, nil
	}
	o, r := x.own("networks", ref, x.labelled)
	if r != nil {
		return "", r
	}
	if o == nil {
		return "", &Refusal{http.StatusNotFound, fmt.Sprintf("network %s not found", ref)}
	}
	return o.Name, nil
}

// A volume the daemon created implicitly for a container carries no label, but it carries the
// client's prefix, which only this client's names get.
func (x *Proxy) ownedVolume(o *object) bool {
	return x.labelled(o) || strings.HasPrefix(o.Name, x.policy.Client+".")
}

// ownVolumeName is the daemon-side name of a volume a container of this client mounts.
func (x *Proxy) ownVolumeName(ref string) (string, *Refusal) {
	if !x.policy.own() {
		return ref, nil
	}
	o, r := x.own("volumes", ref, x.ownedVolume)
	if r != nil || o != nil {
		return objectName(o), r
	}
	return x.policy.prefixed(ref), nil
}

func objectName(o *object) string {
	if o == nil {
		return ""
	}
	return o.Name
}
