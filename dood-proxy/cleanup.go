package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// cleanup removes everything a client made through its proxy, when the client goes away
// (destroyed or replaced; components/DoodScope.ts runs it): its containers (first the client
// itself, so that it makes nothing more), volumes and networks, the tags it created, and the
// images it built but for those someone else has given a tag since (kept: the tag says someone
// wants it). An image still used by a container is kept too. It returns what it did, a line
// per kind.

const cleanupPasses = 5

// daemonCall makes one Engine API request and decodes a JSON answer into out (when given).
func (x *Proxy) daemonCall(method, path string, query url.Values, out any) (int, error) {
	target := url.URL{Scheme: "http", Host: "docker", Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequest(method, target.String(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := x.lookups.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

func (x *Proxy) ownerFilter() url.Values {
	filters, _ := json.Marshal(map[string][]string{"label": {OwnerLabel + "=" + x.policy.Client}})
	return url.Values{"filters": {string(filters)}}
}

// Cleanup empties the client's scope; stop, when given, is the client's container, stopped first.
func (x *Proxy) Cleanup(stop string) ([]string, error) {
	var report []string
	if stop != "" {
		if status, err := x.daemonCall(http.MethodPost, "/containers/"+url.PathEscape(stop)+"/kill", nil, nil); err != nil && status != http.StatusNotFound && status != http.StatusConflict {
			return nil, err
		}
		report = append(report, "stopped the client "+stop)
	}
	var removed []string
	// A container of the client's may still be creating others through the proxy's socket (a
	// tool that mounts it): a few passes, until one finds nothing.
	for pass := 0; pass < cleanupPasses; pass++ {
		var containers []struct {
			ID    string `json:"Id"`
			Names []string
		}
		query := x.ownerFilter()
		query.Set("all", "1")
		if _, err := x.daemonCall(http.MethodGet, "/containers/json", query, &containers); err != nil {
			return nil, err
		}
		if len(containers) == 0 {
			break
		}
		for _, c := range containers {
			if status, err := x.daemonCall(http.MethodDelete, "/containers/"+c.ID, url.Values{"force": {"1"}, "v": {"1"}}, nil); err != nil && status != http.StatusNotFound {
				return nil, err
			}
			removed = append(removed, strings.TrimPrefix(strings.Join(c.Names, ","), "/"))
		}
	}
	report = append(report, summary("containers", removed))

	var networks []struct{ ID, Name string }
	if _, err := x.daemonCall(http.MethodGet, "/networks", x.ownerFilter(), &networks); err != nil {
		return nil, err
	}
	removed = nil
	for _, n := range networks {
		if status, err := x.daemonCall(http.MethodDelete, "/networks/"+n.ID, nil, nil); err != nil && status != http.StatusNotFound {
			return nil, err
		}
		removed = append(removed, n.Name)
	}
	report = append(report, summary("networks", removed))

	// Volumes: labelled, or created implicitly for a container under the client's prefix.
	var volumes struct{ Volumes []*object }
	if _, err := x.daemonCall(http.MethodGet, "/volumes", nil, &volumes); err != nil {
		return nil, err
	}
	removed = nil
	for _, v := range volumes.Volumes {
		if !x.ownedVolume(v) {
			continue
		}
		if status, err := x.daemonCall(http.MethodDelete, "/volumes/"+url.PathEscape(v.Name), nil, nil); err != nil && status != http.StatusNotFound {
			return nil, err
		}
		removed = append(removed, v.Name)
	}
	report = append(report, summary("volumes", removed))

	images, err := x.cleanupImages()
	if err != nil {
		return nil, err
	}
	return append(report, images...), nil
}

// cleanupImages removes the tags the client created, then the images it built that nobody
// else tagged and no container uses.
func (x *Proxy) cleanupImages() ([]string, error) {
	var untagged, removed, kept []string
	for tag, id := range x.tags.snapshot() {
		image, r := x.inspect("images", tag)
		if r != nil {
			return nil, fmt.Errorf("%s", r.Message)
		}
		if image != nil && image.ID == id {
			if status, err := x.daemonCall(http.MethodDelete, "/images/"+tag, nil, nil); err != nil && status != http.StatusNotFound && status != http.StatusConflict {
				return nil, err
			} else if err == nil {
				untagged = append(untagged, tag)
			}
		}
		x.tags.set(tag, "")
	}
	var built []struct {
		ID       string `json:"Id"`
		RepoTags []string
	}
	if _, err := x.daemonCall(http.MethodGet, "/images/json", x.ownerFilter(), &built); err != nil {
		return nil, err
	}
	for _, image := range built {
		tags := realTags(image.RepoTags)
		if len(tags) > 0 {
			kept = append(kept, image.ID[:min(len(image.ID), 19)]+" ("+strings.Join(tags, ", ")+")")
			continue
		}
		status, err := x.daemonCall(http.MethodDelete, "/images/"+image.ID, nil, nil)
		switch {
		case err == nil:
			removed = append(removed, image.ID[:min(len(image.ID), 19)])
		case status == http.StatusConflict:
			kept = append(kept, image.ID[:min(len(image.ID), 19)]+" (in use)")
		case status != http.StatusNotFound:
			return nil, err
		}
	}
	report := []string{summary("tags", untagged), summary("images", removed)}
	if len(kept) > 0 {
		report = append(report, summary("kept images", kept))
	}
	return report, nil
}

// realTags drops the placeholder the daemon lists for an untagged image.
func realTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		if t != "<none>:<none>" {
			out = append(out, t)
		}
	}
	return out
}

func summary(kind string, names []string) string {
	sort.Strings(names)
	if len(names) == 0 {
		return kind + ": none"
	}
	return fmt.Sprintf("%s: %d (%s)", kind, len(names), strings.Join(names, ", "))
}
