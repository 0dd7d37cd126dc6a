package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// scopeDaemon is a fake daemon holding several clients' objects, for the cleanup: lists (with
// the owner label filter), removals, a kill.
type scopeDaemon struct {
	mu         sync.Mutex
	containers map[string]string // id -> owner
	networks   map[string]string // name -> owner
	volumes    map[string]string // name -> owner ("" for an implicit volume)
	images     map[string]*fakeImage
	inUse      map[string]bool // image ids a container of someone else runs
	killed     []string
}

func (d *scopeDaemon) owner(filters string) string {
	var f map[string][]string
	_ = json.Unmarshal([]byte(filters), &f)
	for _, l := range f["label"] {
		if v, ok := strings.CutPrefix(l, OwnerLabel+"="); ok {
			return v
		}
	}
	return "?"
}

func (d *scopeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, q := r.URL.Path, r.URL.Query()
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	switch {
	case r.Method == "GET" && p == "/containers/json":
		var out []map[string]any
		for id, o := range d.containers {
			if o == d.owner(q.Get("filters")) {
				out = append(out, map[string]any{"Id": id, "Names": []string{"/" + o + "." + id}})
			}
		}
		reply(out)
	case r.Method == "POST" && strings.HasSuffix(p, "/kill"):
		d.killed = append(d.killed, strings.Split(p, "/")[2])
	case r.Method == "DELETE" && strings.HasPrefix(p, "/containers/"):
		delete(d.containers, strings.TrimPrefix(p, "/containers/"))
	case r.Method == "GET" && p == "/networks":
		var out []map[string]string
		for name, o := range d.networks {
			if o == d.owner(q.Get("filters")) {
				out = append(out, map[string]string{"ID": name, "Name": name})
			}
		}
		reply(out)
	case r.Method == "DELETE" && strings.HasPrefix(p, "/networks/"):
		delete(d.networks, strings.TrimPrefix(p, "/networks/"))
	case r.Method == "GET" && p == "/volumes":
		var out []map[string]any
		for name, o := range d.volumes {
			v := map[string]any{"Name": name}
			if o != "" {
				v["Labels"] = map[string]string{OwnerLabel: o}
			}
			out = append(out, v)
		}
		reply(map[string]any{"Volumes": out})
	case r.Method == "DELETE" && strings.HasPrefix(p, "/volumes/"):
		delete(d.volumes, strings.TrimPrefix(p, "/volumes/"))
	case r.Method == "GET" && p == "/images/json":
		var out []map[string]any
		for _, i := range d.images {
			if i.Config.Labels[OwnerLabel] == d.owner(q.Get("filters")) {
				tags := i.RepoTags
				if len(tags) == 0 {
					tags = []string{"<none>:<none>"}
				}
				out = append(out, map[string]any{"Id": i.ID, "RepoTags": tags})
			}
		}
		reply(out)
	case r.Method == "GET" && strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json"):
		if i := d.image(strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/json")); i != nil {
			reply(i)
		} else {
			w.WriteHeader(http.StatusNotFound)
		}
	case r.Method == "DELETE" && strings.HasPrefix(p, "/images/"):
		ref := strings.TrimPrefix(p, "/images/")
		i := d.image(ref)
		switch {
		case i == nil:
			w.WriteHeader(http.StatusNotFound)
		case strings.HasPrefix(ref, "sha256:") && d.inUse[i.ID]:
			w.WriteHeader(http.StatusConflict)
		case strings.HasPrefix(ref, "sha256:"):
			delete(d.images, i.ID)
		default:
			i.RepoTags = without(i.RepoTags, ref)
			if len(i.RepoTags) == 0 && !d.inUse[i.ID] {
				delete(d.images, i.ID)
			}
		}
	default:
		http.Error(w, "unexpected "+r.Method+" "+p, http.StatusTeapot)
	}
}

func (d *scopeDaemon) image(ref string) *fakeImage {
	for _, i := range d.images {
		if i.ID == ref {
			return i
		}
		for _, t := range i.RepoTags {
			if canonical(t) == canonical(ref) {
				return i
			}
		}
	}
	return nil
}

func builtImage(id, owner string, tags ...string) *fakeImage {
	i := &fakeImage{ID: id, RepoTags: tags}
	i.Config.Labels = map[string]string{OwnerLabel: owner}
	return i
}

func TestCleanup(t *testing.T) {
	d := &scopeDaemon{
		containers: map[string]string{"c1": "agent", "c2": "agent", "c3": "other", "c4": ""},
		networks:   map[string]string{"agent.app": "agent", "other.app": "other"},
		volumes:    map[string]string{"agent.site": "agent", "agent.implicit": "", "other.site": "other", "plain": ""},
		images: map[string]*fakeImage{
			"sha256:built":    builtImage("sha256:built", "agent", "app:1"),
			"sha256:promoted": builtImage("sha256:promoted", "agent", "app:2", "release:2"),
			"sha256:used":     builtImage("sha256:used", "agent"),
			"sha256:loaded":   {ID: "sha256:loaded", RepoTags: []string{"loaded:1"}},
			"sha256:moved":    {ID: "sha256:moved", RepoTags: []string{"gone:1"}},
			"sha256:theirs":   builtImage("sha256:theirs", "other", "theirs:1"),
			"sha256:shared":   {ID: "sha256:shared", RepoTags: []string{"busybox:local"}},
		},
		inUse: map[string]bool{"sha256:used": true},
	}
	socket := filepath.Join(t.TempDir(), "daemon.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	server := &http.Server{Handler: d}
	go server.Serve(listener)
	t.Cleanup(func() { server.Close() })
	proxy := NewProxy(restricted, socket)
	for tag, id := range map[string]string{"app:1": "sha256:built", "app:2": "sha256:promoted", "loaded:1": "sha256:loaded", "gone:1": "sha256:earlier"} {
		proxy.tags.set(canonical(tag), id)
	}

	report, err := proxy.Cleanup("client-container")
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.Join(report, "\n"))
	keys := func(m any) []string {
		var out []string
		for _, k := range reflect.ValueOf(m).MapKeys() {
			out = append(out, k.String())
		}
		sort.Strings(out)
		return out
	}
	for what, got := range map[string][]string{
		"killed":     d.killed,
		"containers": keys(d.containers),
		"networks":   keys(d.networks),
		"volumes":    keys(d.volumes),
		"images":     keys(d.images),
	} {
		want := map[string][]string{
			"killed":     {"client-container"},
			"containers": {"c3", "c4"},
			"networks":   {"other.app"},
			"volumes":    {"other.site", "plain"},
			// promoted: someone else tagged it release:2; used: a container runs it; moved: the
			// tag gone:1 points elsewhere than the client left it; the rest is not the client's.
			"images": {"sha256:moved", "sha256:promoted", "sha256:shared", "sha256:theirs", "sha256:used"},
		}[what]
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s left: %v, want %v", what, got, want)
		}
	}
	if tags := d.images["sha256:promoted"].RepoTags; fmt.Sprint(tags) != "[release:2]" {
		t.Errorf("the promoted image keeps %v, want only the tag someone else gave it", tags)
	}
	if len(proxy.tags.snapshot()) != 0 {
		t.Errorf("records left: %v", proxy.tags.snapshot())
	}
}
