package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// fakeImages is the fake daemon's image store: enough of it to see what each write route does to
// tags (tag, pull, import, load, commit, build, remove), so a test can tell whether a refused
// write changed anything and whether an allowed one is recorded as the client's.
type fakeImages struct {
	mu     sync.Mutex
	images []*fakeImage
}

type fakeImage struct {
	ID          string `json:"Id"`
	RepoTags    []string
	RepoDigests []string
	Config      struct{ Labels map[string]string }
}

func newFakeImages() *fakeImages {
	image := func(id string, owner string, tags ...string) *fakeImage {
		i := &fakeImage{ID: id, RepoTags: tags}
		if owner != "" {
			i.Config.Labels = map[string]string{OwnerLabel: owner}
		}
		return i
	}
	return &fakeImages{images: []*fakeImage{
		image("sha256:b1", "agent", "built:1"),
		image("sha256:b2", "", "busybox:local", "dind-provisioner/busybox:local"),
		image("sha256:b4", "other", "theirs:1"),
	}}
}

func canonical(ref string) string {
	r, err := parseImageRef(ref)
	if err != nil {
		return ref
	}
	return r.String()
}

func (f *fakeImages) find(ref string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := f.lookup(ref); i != nil {
		data, _ := json.Marshal(i)
		var out map[string]any
		_ = json.Unmarshal(data, &out)
		return out
	}
	return nil
}

func (f *fakeImages) lookup(ref string) *fakeImage {
	for _, i := range f.images {
		if i.ID == ref || i.ID == "sha256:"+ref {
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

// setTag moves tag onto image (a new image when none has that id).
func (f *fakeImages) setTag(tag string, image *fakeImage) {
	for _, i := range f.images {
		i.RepoTags = without(i.RepoTags, tag)
	}
	if existing := f.lookup(image.ID); existing != nil {
		image = existing
	} else {
		f.images = append(f.images, image)
	}
	if tag != "" {
		image.RepoTags = append(image.RepoTags, tag)
	}
}

func without(tags []string, tag string) []string {
	var out []string
	for _, t := range tags {
		if canonical(t) != canonical(tag) {
			out = append(out, t)
		}
	}
	return out
}

func fakeID(seed string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(seed)))
}

// apply makes a forwarded image write happen and answers it as the daemon would; false when the
// request is not one.
func (f *fakeImages) apply(w http.ResponseWriter, r *http.Request, body []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v1.41")
	q := r.URL.Query()
	labelled := func(i *fakeImage, changes []string) *fakeImage {
		for _, c := range changes {
			if kv, ok := strings.CutPrefix(c, "LABEL "); ok {
				k, v, _ := strings.Cut(kv, "=")
				i.Config.Labels = map[string]string{k: v}
			}
		}
		return i
	}
	switch {
	case r.Method == "POST" && strings.HasPrefix(path, "/images/") && strings.HasSuffix(path, "/tag"):
		source := f.lookup(strings.TrimSuffix(strings.TrimPrefix(path, "/images/"), "/tag"))
		target, _ := tagRef(q.Get("repo"), q.Get("tag"))
		f.setTag(target, source)
		w.WriteHeader(http.StatusCreated)
	case r.Method == "POST" && path == "/images/create" && q.Get("fromSrc") == "-":
		target, _ := tagRef(q.Get("repo"), q.Get("tag"))
		image := labelled(&fakeImage{ID: fakeID(string(body))}, q["changes"])
		f.setTag(target, image)
		fmt.Fprintf(w, "{\"status\":%q}\r\n", image.ID)
	case r.Method == "POST" && path == "/images/create":
		ref := canonical(q.Get("fromImage") + ":" + q.Get("tag"))
		digest := fakeID("manifest of " + ref)
		image := &fakeImage{ID: fakeID("pulled " + ref), RepoDigests: []string{strings.Split(ref, ":")[0] + "@" + digest}}
		f.setTag(ref, image)
		fmt.Fprintf(w, "{\"status\":\"Pulling from %s\"}\r\n{\"status\":\"Digest: %s\"}\r\n{\"status\":\"Status: Downloaded newer image for %s\"}\r\n", ref, digest, ref)
	case r.Method == "POST" && path == "/images/load":
		tr := tar.NewReader(bytes.NewReader(body))
		for {
			hdr, err := tr.Next()
			if err != nil {
				break
			}
			if hdr.Name != "manifest.json" {
				continue
			}
			var manifest []struct {
				Config   string
				RepoTags []string
			}
			data, _ := io.ReadAll(tr)
			_ = json.Unmarshal(data, &manifest)
			for _, m := range manifest {
				image := f.lookup("sha256:" + strings.TrimSuffix(m.Config, ".json"))
				if image == nil {
					image = &fakeImage{ID: "sha256:" + strings.TrimSuffix(m.Config, ".json")}
				}
				for _, t := range m.RepoTags {
					f.setTag(t, image)
					fmt.Fprintf(w, "{\"stream\":\"Loaded image: %s\\n\"}\r\n", t)
				}
			}
		}
	case r.Method == "POST" && path == "/commit":
		target, _ := tagRef(q.Get("repo"), q.Get("tag"))
		image := labelled(&fakeImage{ID: fakeID("commit of " + q.Get("container") + target)}, q["changes"])
		f.setTag(target, image)
		fmt.Fprintf(w, "{\"Id\":%q}\n", image.ID)
	case r.Method == "POST" && path == "/build":
		image := &fakeImage{ID: fakeID("build " + string(body))}
		f.setTag("", image)
		for _, t := range q["t"] {
			f.setTag(t, image)
		}
		fmt.Fprintf(w, "{\"stream\":\"Step 1/1\"}\r\n{\"aux\":{\"ID\":%q}}\r\n", image.ID)
	case r.Method == "DELETE" && strings.HasPrefix(path, "/images/"):
		ref := strings.TrimPrefix(path, "/images/")
		if image := f.lookup(ref); image != nil {
			image.RepoTags = without(image.RepoTags, ref)
		}
		fmt.Fprintf(w, "[{\"Untagged\":%q}]", ref)
	default:
		return false
	}
	return true
}

// tags lists the tags an image has now (for assertions).
func (f *fakeImages) tagsOf(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := f.lookup(id); i != nil {
		return append([]string(nil), i.RepoTags...)
	}
	return nil
}

// imageOf is the id a tag names now, "" when none.
func (f *fakeImages) imageOf(tag string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.images {
		for _, t := range i.RepoTags {
			if canonical(t) == canonical(tag) {
				return i.ID
			}
		}
	}
	return ""
}
