package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"
	"sync"
)

// Image tags are shared by every client of a daemon: a tag one client moves is what the next
// client runs. With scope own, a client may create a tag that does not exist and move or remove
// only the tags it created; every route that writes a tag (tag, load, pull, import, commit, a
// classic build; a BuildKit build's --load is a load) is checked before the daemon sees it. What
// the client created is recorded here, with the image each tag was given: a tag that points
// elsewhere now (someone removed it and another created it again) is no longer the client's.

// References as the daemon reads them (distribution's reference grammar, normalized).
var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	domainPattern = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$`)
)

// imageRef is a reference in its full form: docker.io/library/busybox:latest.
type imageRef struct {
	name   string // domain/path
	tag    string
	digest string
}

func (r imageRef) String() string {
	if r.digest != "" {
		return r.name + "@" + r.digest
	}
	return r.name + ":" + r.tag
}

// parseImageRef normalizes a reference as the daemon does: docker.io and library/ for short
// names, latest for a missing tag. An empty result tag means a digest reference (no tag written).
func parseImageRef(s string) (imageRef, error) {
	var ref imageRef
	if name, digest, ok := strings.Cut(s, "@"); ok {
		if !digestPattern.MatchString(digest) {
			return ref, fmt.Errorf("invalid reference %q", s)
		}
		s, ref.digest = name, digest
	}
	name := s
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		name, ref.tag = s[:i], s[i+1:]
		if !tagPattern.MatchString(ref.tag) {
			return ref, fmt.Errorf("invalid tag in reference %q", s)
		}
	}
	domain, rest := "docker.io", name
	if i := strings.Index(name, "/"); i >= 0 && (strings.ContainsAny(name[:i], ".:") || name[:i] == "localhost" || strings.ToLower(name[:i]) != name[:i]) {
		domain, rest = name[:i], name[i+1:]
		if !domainPattern.MatchString(domain) {
			return ref, fmt.Errorf("invalid registry in reference %q", s)
		}
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	for _, c := range strings.Split(rest, "/") {
		if !pathComponent.MatchString(c) {
			return ref, fmt.Errorf("invalid repository name in reference %q", s)
		}
	}
	if len(domain)+1+len(rest) > 255 {
		return ref, fmt.Errorf("repository name in reference %q is longer than 255 characters", s)
	}
	ref.name = domain + "/" + rest
	if ref.tag == "" && ref.digest == "" {
		ref.tag = "latest"
	}
	if ref.digest != "" {
		ref.tag = ""
	}
	return ref, nil
}

// tagRef is the tag a repository and tag parameter pair names (the tag query parameters of tag,
// import and commit), "" when it names a digest or nothing.
func tagRef(repo, tag string) (string, error) {
	if repo == "" {
		return "", nil
	}
	s := repo
	if tag != "" {
		s += ":" + tag
	}
	ref, err := parseImageRef(s)
	if err != nil || ref.digest != "" {
		return "", err
	}
	return ref.String(), nil
}

// tagRecords are the tags a client created and the image each was given, kept in a file the
// client cannot reach (the proxy's state volume) so a restart keeps them.
type tagRecords struct {
	mu   sync.Mutex
	file string
	tags map[string]string
}

func newTagRecords() *tagRecords { return &tagRecords{tags: map[string]string{}} }

func openTagRecords(file string) (*tagRecords, error) {
	t := &tagRecords{file: file, tags: map[string]string{}}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &t.tags); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return t, nil
}

func (t *tagRecords) get(tag string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tags[tag]
}

func (t *tagRecords) set(tag, id string) {
	t.update(func(m map[string]string) {
		if id == "" {
			delete(m, tag)
		} else {
			m[tag] = id
		}
	})
}

func (t *tagRecords) snapshot() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]string, len(t.tags))
	for k, v := range t.tags {
		out[k] = v
	}
	return out
}

func (t *tagRecords) update(change func(map[string]string)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	change(t.tags)
	if t.file == "" {
		return
	}
	data, _ := json.Marshal(t.tags)
	tmp := t.file + ".tmp"
	err := os.WriteFile(tmp, data, 0o600)
	if err == nil {
		err = os.Rename(tmp, t.file)
	}
	if err != nil {
		log.Printf("recording the tags client %s created: %v", t.file, err)
	}
}

// mayWriteTag allows writing a tag that does not exist, or one this client created and that
// still points at the image it gave it; anything else is another's, and refused.
func (x *Proxy) mayWriteTag(tag string) *Refusal {
	if !x.policy.own() || tag == "" {
		return nil
	}
	image, r := x.inspect("images", tag)
	if r != nil || image == nil {
		return r
	}
	if recorded := x.tags.get(tag); recorded != "" && recorded == image.ID {
		return nil
	}
	return x.policy.deny(ruleScope, "image tag %s exists and this client did not create it: writing it would change what other clients run (give the image a new name)", tag)
}

// recordTag notes that this client gave tag the image expected (any image, when expected is
// ""), if the tag points there now: a tag someone else moved in between is not recorded.
func (x *Proxy) recordTag(tag, expected string) {
	if !x.policy.own() || tag == "" {
		return
	}
	image, r := x.inspect("images", tag)
	if r != nil || image == nil || (expected != "" && image.ID != expected) {
		return
	}
	x.tags.set(tag, image.ID)
}
