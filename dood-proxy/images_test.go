package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"
)

// entry is one file of a test archive: a regular file unless link is set.
type entry struct {
	name, body, link string
	kind             byte
}

func archive(entries ...entry) string {
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.kind != 0 {
			hdr.Typeflag, hdr.Size, hdr.Linkname = e.kind, 0, e.link
		}
		_ = tw.WriteHeader(hdr)
		_, _ = tw.Write([]byte(e.body))
	}
	_ = tw.Close()
	return out.String()
}

// imageArchive is what `docker save` writes for one image with these tags.
func imageArchive(config string, tags ...string) string {
	manifest, _ := json.Marshal([]map[string]any{{"Config": config + ".json", "RepoTags": tags, "Layers": []string{"l1/layer.tar"}}})
	return archive(entry{name: "l1/layer.tar", body: "layer"}, entry{name: config + ".json", body: "{}"}, entry{name: "manifest.json", body: string(manifest)})
}

func gzipped(s string) string {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return out.String()
}

const tarType = "application/x-tar"

func load(name, body string, status int, message string) tc {
	return tc{name: name, method: "POST", path: "/v1.41/images/load?quiet=1", body: body, contentType: tarType, status: status, message: message}
}

// Every route that writes a tag, against tags the client did not create: all refused, nothing
// reaches the daemon, the tag keeps its image.
func TestTagOverwritesRefused(t *testing.T) {
	exists := "image tag docker.io/library/busybox:local exists and this client did not create it"
	theirs := "image tag docker.io/library/theirs:1 exists and this client did not create it"
	cases := []tc{
		refused("tag over the shared busybox", "POST", "/images/built:1/tag?repo=busybox&tag=local", "", exists),
		refused("tag over it, fully spelled", "POST", "/images/built:1/tag?repo=docker.io/library/busybox&tag=local", "", exists),
		refused("tag over it, index.docker.io", "POST", "/images/built:1/tag?repo=index.docker.io/library/busybox&tag=local", "", exists),
		refused("tag over another client's tag", "POST", "/images/built:1/tag?repo=theirs&tag=1", "", theirs),
		refused("tag over a tag with a registry", "POST", "/images/built:1/tag?repo=dind-provisioner/busybox&tag=local", "", "dind-provisioner/busybox:local exists"),
		refused("pull over the shared busybox", "POST", "/images/create?fromImage=busybox&tag=local", "", exists),
		refused("pull over it, tag in fromImage", "POST", "/images/create?fromImage=busybox:local", "", exists),
		refused("pull every tag", "POST", "/images/create?fromImage=busybox", "", "pulling every tag of docker.io/library/busybox"),
		refused("import over it", "POST", "/images/create?fromSrc=-&repo=busybox&tag=local", "rootfs", exists),
		refused("import from a URL (the daemon's network)", "POST", "/images/create?fromSrc=http://169.254.169.254/latest&repo=new", "", "importing from a URL (http://169.254.169.254/latest) makes the daemon fetch it from its own network"),
		refused("commit over it", "POST", "/commit?container=mine&repo=busybox&tag=local", "", exists),
		refused("classic build over it", "POST", "/build?t=busybox:local", "tar", "the classic builder is not allowed"),
		load("load over it (manifest.json)", imageArchive("evil", "busybox:local"), 403, exists),
		load("load over it, among new tags", imageArchive("evil", "new:1", "busybox:local"), 403, exists),
		load("load over another client's tag", imageArchive("evil", "theirs:1"), 403, theirs),
		load("load over it, gzip-compressed", gzipped(imageArchive("evil", "busybox:local")), 403, exists),
		load("load over it, legacy repositories file", archive(entry{name: "repositories", body: `{"busybox":{"local":"evil"}}`}), 403, exists),
		load("load over it, OCI index annotation", archive(entry{name: "index.json", body: `{"manifests":[{"annotations":{"io.containerd.image.name":"docker.io/library/busybox:local"}}]}`}), 403, exists),
		load("load over it, ./manifest.json", archive(entry{name: "./manifest.json", body: `[{"Config":"evil.json","RepoTags":["busybox:local"]}]`}), 403, exists),
		load("load over it in a second manifest.json", archive(entry{name: "manifest.json", body: `[{"Config":"a.json","RepoTags":["new:2"]}]`},
			entry{name: "manifest.json", body: `[{"Config":"evil.json","RepoTags":["busybox:local"]}]`}), 403, exists),
		load("manifest.json as a symbolic link", archive(entry{name: "evil.json", body: `[{"Config":"e.json","RepoTags":["busybox:local"]}]`},
			entry{name: "manifest.json", kind: tar.TypeSymlink, link: "evil.json"}), 400, "manifest.json is not a regular file"),
		load("manifest.json as a hard link", archive(entry{name: "evil.json", body: `[]`}, entry{name: "manifest.json", kind: tar.TypeLink, link: "evil.json"}), 400, "not a regular file"),
		load("manifest.json reached through a linked directory", archive(entry{name: "d", kind: tar.TypeSymlink, link: "."},
			entry{name: "d/manifest.json", body: `[{"Config":"e.json","RepoTags":["busybox:local"]}]`}), 400, "lies under the link d"),
		load("a manifest.json the daemon would read differently", archive(entry{name: "manifest.json", body: `[{"RepoTags":"busybox:local"}]`}), 400, "manifest.json"),
		load("a tag that is no reference", archive(entry{name: "manifest.json", body: `[{"Config":"e.json","RepoTags":["Busybox:local"]}]`}), 400, "invalid repository name"),
		load("xz-compressed (not checkable)", "\xfd7zXZ\x00rest", 400, "xz or zstd"),
		load("not an archive", "garbage that is not a tar archive, longer than one block? no", 400, "not a tar archive"),
		refused("remove the shared busybox", "DELETE", "/images/busybox:local", "", "only images this client built and tags it created can be removed"),
		refused("remove another client's tag", "DELETE", "/images/theirs:1", "", "shared with other clients"),
	}
	daemon := run(t, restricted, cases)
	if got := daemon.images.imageOf("busybox:local"); got != "sha256:b2" {
		t.Fatalf("busybox:local moved to %s", got)
	}
	t.Logf("%d tag-overwrite cases", len(cases))
}

// The tags a client creates are its own: it may move and remove them, another client may not.
func TestTagOwnership(t *testing.T) {
	daemon := &fakeDaemon{images: newFakeImages()}
	agentProxy, agent := startProxy(t, daemon, restricted)
	_, other := startProxy(t, daemon, Policy{Client: "other", Scope: "own"})
	step := func(base, name, method, path, body string, status int) {
		t.Helper()
		c := tc{name: name, method: method, path: path, body: body, status: status}
		if strings.HasSuffix(path, "load") {
			c.contentType = tarType
		}
		resp, out := send(t, base, c)
		if resp.StatusCode != status {
			t.Fatalf("%s: status %d, want %d: %s", name, resp.StatusCode, status, out)
		}
	}
	busybox := daemon.images.imageOf("busybox:local")

	step(agent, "agent loads app:1 (new)", "POST", "/images/load", imageArchive("aaaa", "app:1"), 200)
	if daemon.images.imageOf("app:1") != "sha256:aaaa" {
		t.Fatal("the load did not reach the daemon whole")
	}
	step(agent, "agent loads a new app:1 over its own", "POST", "/images/load", imageArchive("bbbb", "app:1"), 200)
	step(other, "other loads over agent's app:1", "POST", "/images/load", imageArchive("cccc", "app:1"), 403)
	step(other, "other tags over agent's app:1", "POST", "/images/busybox:local/tag?repo=app&tag=1", "", 403)
	step(other, "other pulls over agent's app:1", "POST", "/images/create?fromImage=app&tag=1", "", 403)
	if got := daemon.images.imageOf("app:1"); got != "sha256:bbbb" {
		t.Fatalf("app:1 is %s, want the agent's sha256:bbbb", got)
	}
	step(agent, "agent tags busybox as tool:1 (new)", "POST", "/images/busybox:local/tag?repo=tool&tag=1", "", 201)
	step(agent, "agent moves its tool:1", "POST", "/images/app:1/tag?repo=tool&tag=1", "", 201)
	step(agent, "agent pulls lib:2 (new)", "POST", "/images/create?fromImage=lib&tag=2", "", 200)
	step(agent, "agent pulls lib:2 again (its own)", "POST", "/images/create?fromImage=lib&tag=2", "", 200)
	step(agent, "agent commits snap:1 (new)", "POST", "/commit?container=mine&repo=snap&tag=1", "", 200)
	step(agent, "agent commits snap:1 again", "POST", "/commit?container=mine&repo=snap&tag=1", "", 200)
	step(agent, "agent imports fs:1 (new)", "POST", "/images/create?fromSrc=-&repo=fs&tag=1", "rootfs", 200)
	step(agent, "agent imports fs:1 again", "POST", "/images/create?fromSrc=-&repo=fs&tag=1", "rootfs2", 200)
	step(other, "other removes agent's tool:1", "DELETE", "/images/tool:1", "", 403)
	step(agent, "agent removes its tool:1", "DELETE", "/images/tool:1", "", 200)
	step(other, "other creates tool:1 (free again)", "POST", "/images/busybox:local/tag?repo=tool&tag=1", "", 201)
	step(agent, "agent moves tool:1 (it is other's now)", "POST", "/images/app:1/tag?repo=tool&tag=1", "", 403)
	if got := daemon.images.imageOf("busybox:local"); got != busybox {
		t.Fatalf("busybox:local moved to %s", got)
	}
	records := agentProxy.tags.snapshot()
	for _, tag := range []string{"app:1", "lib:2", "snap:1", "fs:1"} {
		if id := daemon.images.imageOf(tag); id == "" || records[canonical(tag)] != id {
			t.Fatalf("%s: the agent's record says %q, the daemon %q", tag, records[canonical(tag)], id)
		}
	}
	if _, kept := records[canonical("tool:1")]; kept {
		t.Fatal("a removed tag is still recorded")
	}
	if labels := daemon.images.find("snap:1")["Config"].(map[string]any)["Labels"]; labels == nil {
		t.Fatal("a committed image does not carry the client's label")
	}
}

// What reaches the daemon of a load is the archive that was checked, whole, and nothing after it.
func TestLoadRewritesTheArchive(t *testing.T) {
	daemon, base := start(t, restricted)
	archiveWithTrailer := imageArchive("dddd", "fresh:1") + strings.Repeat("\x00", 4096) + "trailing bytes the daemon must not read"
	resp, body := send(t, base, load("", archiveWithTrailer, 200, ""))
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status, body)
	}
	got := daemon.last()
	tr := tar.NewReader(strings.NewReader(got.Body))
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	if strings.Join(names, ",") != "l1/layer.tar,dddd.json,manifest.json" || strings.Contains(got.Body, "trailing") {
		t.Fatalf("daemon read %v (%d bytes)", names, got.Length)
	}
	if !strings.Contains(body, "Loaded image: fresh:1") {
		t.Fatal(body)
	}
}

// A client with scope all loads, tags and pulls as before: no tag is anyone's.
func TestScopeAllWritesTags(t *testing.T) {
	run(t, Policy{Client: "admin", Scope: "all"}, []tc{
		load("load over busybox", imageArchive("eeee", "busybox:local"), 200, ""),
		{name: "tag over busybox", method: "POST", path: "/images/built:1/tag?repo=busybox&tag=local", status: 201},
	})
}
