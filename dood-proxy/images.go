package main

import "strings"

// The image routes. Images are shared: a job reads what others pulled, built or loaded. With
// scope own, the tags a client writes are its own (tags.go), and what it builds carries its label.

// tagImage: POST /images/{name}/tag?repo=&tag= gives a tag to an existing image.
func tagImage(x *Proxy, c *call) *Refusal {
	target, err := tagRef(c.query.Get("repo"), c.query.Get("tag"))
	if err != nil {
		return badRequest("%v", err)
	}
	if r := x.mayWriteTag(target); r != nil {
		return r
	}
	source, r := x.inspect("images", c.name)
	if r != nil || source == nil {
		return r // the daemon answers a missing source itself
	}
	c.done = func(status int, _ []streamMessage) {
		if status < 300 {
			x.recordTag(target, source.ID)
		}
	}
	return nil
}

// createImage: POST /images/create pulls (fromImage) or imports (fromSrc).
func createImage(x *Proxy, c *call) *Refusal {
	if src := c.query.Get("fromSrc"); src != "" {
		return importImage(x, c, src)
	}
	from, tag := c.query.Get("fromImage"), c.query.Get("tag")
	if from == "" {
		return badRequest("images/create needs fromImage or fromSrc")
	}
	ref := from
	if tag != "" {
		sep := ":"
		if strings.HasPrefix(tag, "sha256:") {
			sep = "@"
		}
		ref += sep + tag
	}
	parsed, err := parseImageRef(ref)
	if err != nil {
		return badRequest("%v", err)
	}
	if parsed.digest != "" {
		return nil // a pull by digest writes no tag
	}
	if tag == "" && !strings.Contains(from[strings.LastIndex(from, "/")+1:], ":") && x.policy.own() {
		return x.policy.deny(ruleScope, "pulling every tag of %s (docker pull --all-tags) is not allowed: it would write tags this client did not create; pull one tag at a time", parsed.name)
	}
	target := parsed.String()
	if r := x.mayWriteTag(target); r != nil {
		return r
	}
	c.done = func(status int, messages []streamMessage) {
		// The tag is the client's if the pull ended well and left it on the image it fetched.
		digest := ""
		for _, m := range messages {
			if m.Error != "" {
				return
			}
			if d, ok := strings.CutPrefix(m.Status, "Digest: "); ok {
				digest = d
			}
		}
		if status >= 300 || digest == "" || !x.policy.own() {
			return
		}
		if image, r := x.inspect("images", target); r == nil && image != nil && image.hasDigest(digest) {
			x.tags.set(target, image.ID)
		}
	}
	return nil
}

// importImage: a filesystem tarball uploaded as an image. From a URL, the daemon would fetch it
// from its own machine's network, which only a client allowed the host's namespaces may reach.
func importImage(x *Proxy, c *call, src string) *Refusal {
	if src != "-" && !x.policy.HostNamespaces {
		return x.policy.deny(ruleHostNS, "importing from a URL (%s) makes the daemon fetch it from its own network: upload the file instead (docker import FILE)", src)
	}
	target, r := x.newImageTag(c)
	if r != nil {
		return r
	}
	c.done = func(status int, messages []streamMessage) {
		for _, m := range messages {
			if m.Error != "" {
				return
			}
		}
		if status < 300 {
			x.recordTag(target, lastStatusID(messages))
		}
	}
	return nil
}

// loadImages: POST /images/load. With scope own, the archive's tags are checked as it streams
// (load.go); the daemon gets the archive's end only when every tag may be written.
func loadImages(x *Proxy, c *call) *Refusal {
	if !x.policy.own() {
		return nil
	}
	var loaded loadTags
	c.r.Body = checkLoad(c.r.Body, func(tags loadTags) *Refusal {
		loaded = tags
		for tag := range tags {
			if r := x.mayWriteTag(tag); r != nil {
				return r
			}
		}
		return nil
	})
	c.r.ContentLength = -1
	c.r.Header.Del("Content-Length")
	c.done = func(status int, messages []streamMessage) {
		if status >= 300 {
			return
		}
		for _, m := range messages {
			if name, ok := strings.CutPrefix(strings.TrimSpace(m.Stream), "Loaded image: "); ok {
				if ref, err := parseImageRef(name); err == nil {
					x.recordTag(ref.String(), loaded[ref.String()])
				}
			}
		}
	}
	return nil
}

// removeImage: DELETE /images/{name}: only a tag this client created, or an image it built.
func removeImage(x *Proxy, c *call) *Refusal {
	if !x.policy.own() {
		return nil
	}
	image, r := x.inspect("images", c.name)
	if r != nil || image == nil {
		return r
	}
	tag := ""
	if ref, err := parseImageRef(c.name); err == nil && ref.digest == "" && image.hasTag(ref.String()) {
		tag = ref.String()
	}
	if !(tag != "" && x.tags.get(tag) == image.ID) && image.owner() != x.policy.Client {
		return x.policy.deny(ruleScope, "image %s is shared with other clients: only images this client built and tags it created can be removed", c.name)
	}
	c.done = func(status int, _ []streamMessage) {
		if status < 300 && tag != "" {
			x.tags.set(tag, "")
		}
	}
	return nil
}

// commitContainer: POST /commit makes an image of one of the client's containers.
func commitContainer(x *Proxy, c *call) *Refusal {
	o, r := x.ownContainer(c.query.Get("container"))
	if r != nil {
		return r
	}
	c.query.Set("container", o.ID)
	target, r := x.newImageTag(c)
	if r != nil {
		return r
	}
	c.done = func(status int, messages []streamMessage) {
		if status < 300 && len(messages) > 0 {
			x.recordTag(target, messages[0].ID)
		}
	}
	return nil
}

// newImageTag checks the repo and tag an import or a commit names, and makes the image it creates
// carry the client's label, as a build's does (a Dockerfile instruction in the `changes`
// parameter, after the client's own).
func (x *Proxy) newImageTag(c *call) (string, *Refusal) {
	target, err := tagRef(c.query.Get("repo"), c.query.Get("tag"))
	if err != nil {
		return "", badRequest("%v", err)
	}
	if r := x.mayWriteTag(target); r != nil {
		return "", r
	}
	if x.policy.own() {
		c.query["changes"] = append(c.query["changes"], "LABEL "+OwnerLabel+"="+x.policy.Client)
	}
	return target, nil
}

// buildkitOfDaemon refuses the daemon's own BuildKit (/session, /grpc): one BuildKit for every
// client would share its build cache and cache mounts between them (docs/dood-buildkit.md).
func buildkitOfDaemon(x *Proxy, c *call) *Refusal {
	return x.policy.deny("default deny", "the daemon's BuildKit (%s) is shared by every client's builds: this client builds on its own builder (docker buildx build, BUILDX_BUILDER=%s)", c.r.URL.Path, BuildxBuilderName)
}

func lastStatusID(messages []streamMessage) string {
	for i := len(messages) - 1; i >= 0; i-- {
		if strings.HasPrefix(messages[i].Status, "sha256:") {
			return messages[i].Status
		}
	}
	return ""
}

func (o *object) hasTag(tag string) bool {
	for _, t := range o.RepoTags {
		if ref, err := parseImageRef(t); err == nil && ref.String() == tag {
			return true
		}
	}
	return false
}

func (o *object) hasDigest(digest string) bool {
	for _, d := range o.RepoDigests {
		if strings.HasSuffix(d, "@"+digest) {
			return true
		}
	}
	return false
}
