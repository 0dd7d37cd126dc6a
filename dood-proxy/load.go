package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// docker load: the tags are inside the tarball (manifest.json, the legacy repositories file,
// an OCI layout's index.json), and the daemon applies them once it has read the whole archive.
// The proxy reads the archive as it streams and writes it out again, entry by entry, to the
// daemon, holding back the archive's end until it has checked every tag: a refused archive ends
// in an error instead, so the daemon's read fails and it loads nothing. Rewriting, rather than
// passing the bytes on, means the daemon reads exactly the entries that were checked (no
// trailing data, no second reading of a compressed or damaged stream).

// Files the daemon reads tags from, and the most of each the proxy reads.
var tagFiles = map[string]bool{"manifest.json": true, "repositories": true, "index.json": true}

const maxTagFile = 1 << 20

// loadTags is what an archive's tag files say: each tag, and the image it is given when known.
type loadTags map[string]string

// checkLoad streams the archive from the client to the daemon; check decides on its tags.
func checkLoad(body io.Reader, check func(loadTags) *Refusal) io.ReadCloser {
	reader, writer := io.Pipe()
	go func() {
		tags, err := copyArchive(body, writer)
		if err == nil {
			if refusal := check(tags); refusal != nil {
				err = refusalError{refusal}
			}
		}
		if err == nil {
			_, err = writer.Write(endOfArchive)
		}
		if err != nil {
			_ = writer.CloseWithError(err)
			return
		}
		_ = writer.Close()
	}()
	return reader
}

// refusalError carries a refusal through a request body to the proxy's error handler.
type refusalError struct{ refusal *Refusal }

func (e refusalError) Error() string { return e.refusal.Message }

// copyArchive copies a (possibly compressed) tar archive as an uncompressed one, all but its end,
// and collects the tags its tag files name: the caller writes the end, or an error instead.
func copyArchive(body io.Reader, out io.Writer) (loadTags, error) {
	in, err := decompressed(body)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(in)
	tw := tar.NewWriter(out)
	tags := loadTags{}
	links := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, refusalError{badRequest("load: not a tar archive: %v", err)}
		}
		name := path.Clean("/" + hdr.Name)[1:]
		// The daemon follows links when it extracts and reads the archive: a tag file reached
		// through one would not be the one read here.
		for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if links[dir] {
				return nil, refusalError{badRequest("load: entry %s lies under the link %s", hdr.Name, dir)}
			}
		}
		switch hdr.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			links[name] = true
		}
		if tagFiles[name] {
			if hdr.Typeflag != tar.TypeReg {
				return nil, refusalError{badRequest("load: %s is not a regular file", hdr.Name)}
			}
			if hdr.Size > maxTagFile {
				return nil, refusalError{badRequest("load: %s is larger than 1 MiB", hdr.Name)}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		var content bytes.Buffer
		sink := io.Writer(tw)
		if tagFiles[name] {
			sink = io.MultiWriter(tw, &content)
		}
		if _, err := io.Copy(sink, tr); err != nil {
			return nil, err
		}
		if tagFiles[name] {
			if err := readTagFile(name, content.Bytes(), tags); err != nil {
				return nil, refusalError{badRequest("load: %s: %v", hdr.Name, err)}
			}
		}
	}
	// Not tw.Close(): that would write the end of the archive, which is the caller's to write.
	return tags, tw.Flush()
}

// endOfArchive is what tar.Writer.Close writes: two zero blocks.
var endOfArchive = make([]byte, 1024)

func decompressed(body io.Reader) (io.Reader, error) {
	buffered := bufio.NewReaderSize(body, 64<<10)
	magic, _ := buffered.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(buffered)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(buffered), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}), bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, refusalError{badRequest("load: an xz or zstd compressed archive cannot be checked: load it uncompressed or gzip-compressed")}
	}
	return buffered, nil
}

// readTagFile adds the tags a tag file names; a file the proxy cannot read the way the daemon
// does is refused.
func readTagFile(name string, data []byte, tags loadTags) error {
	add := func(ref, config string) error {
		r, err := parseImageRef(ref)
		if err != nil {
			return err
		}
		if r.digest != "" {
			return nil
		}
		id := ""
		if config != "" {
			id = "sha256:" + strings.TrimSuffix(path.Base(config), ".json")
		}
		if previous, seen := tags[r.String()]; seen && previous != id {
			id = ""
		}
		tags[r.String()] = id
		return nil
	}
	switch name {
	case "manifest.json":
		var manifest []struct {
			Config   string
			RepoTags []string
		}
		if err := json.Unmarshal(data, &manifest); err != nil {
			return err
		}
		for _, m := range manifest {
			for _, t := range m.RepoTags {
				if err := add(t, m.Config); err != nil {
					return err
				}
			}
		}
	case "repositories":
		var repositories map[string]map[string]string
		if err := json.Unmarshal(data, &repositories); err != nil {
			return err
		}
		for repo, byTag := range repositories {
			for tag := range byTag {
				if err := add(repo+":"+tag, ""); err != nil {
					return err
				}
			}
		}
	case "index.json":
		var index struct {
			Manifests []struct{ Annotations map[string]string }
		}
		if err := json.Unmarshal(data, &index); err != nil {
			return err
		}
		for _, m := range index.Manifests {
			for _, key := range []string{"io.containerd.image.name", "org.opencontainers.image.ref.name"} {
				ref := m.Annotations[key]
				if ref == "" {
					continue
				}
				// OCI's ref.name may be a bare tag, which names no image the daemon could tag:
				// checked as a name when it reads as one, the stricter reading.
				if err := add(ref, ""); err != nil && key == "io.containerd.image.name" {
					return fmt.Errorf("annotation %s: %v", key, err)
				}
			}
		}
	default:
		return errors.New("not a tag file")
	}
	return nil
}
