package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
)

// streamMessage is one message of the daemon's JSON answers and progress streams (pull, load,
// import, build, commit), with the fields the proxy reads to learn what a write did.
type streamMessage struct {
	Status string `json:"status"`
	Stream string `json:"stream"`
	Error  string `json:"error"`
	ID     string `json:"Id"`
	Aux    struct {
		ID string `json:"ID"`
	} `json:"aux"`
}

// matters keeps a stream's messages small: errors, the digests and ids a write reports, what a
// load loaded; not the thousands of progress lines of a pull.
func (m streamMessage) matters() bool {
	return m.Error != "" || m.Aux.ID != "" || strings.HasPrefix(m.Status, "Digest: ") || strings.HasPrefix(m.Status, "sha256:") ||
		strings.Contains(m.Stream, "Loaded image") || strings.HasPrefix(m.ID, "sha256:")
}

// A line longer than this (no message the proxy reads is) is passed on unread.
const maxStreamLine = 1 << 20

// watchedBody passes the daemon's answer on unchanged and reads its messages on the way; when
// the answer ends (or the client goes away) it hands them to the call's done hook, once.
type watchedBody struct {
	io.ReadCloser
	status   int
	done     func(int, []streamMessage)
	line     []byte
	skip     bool
	messages []streamMessage
	once     sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.scan(p[:n])
	if err != nil {
		b.finish()
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.finish()
	return b.ReadCloser.Close()
}

func (b *watchedBody) scan(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			b.keep(data)
			return
		}
		b.keep(data[:i])
		b.message()
		data = data[i+1:]
	}
}

func (b *watchedBody) keep(part []byte) {
	if b.skip || len(b.line)+len(part) > maxStreamLine {
		b.skip, b.line = true, nil
		return
	}
	b.line = append(b.line, part...)
}

func (b *watchedBody) message() {
	var m streamMessage
	if !b.skip && json.Unmarshal(bytes.TrimSpace(b.line), &m) == nil && m.matters() {
		b.messages = append(b.messages, m)
	}
	b.line, b.skip = b.line[:0], false
}

func (b *watchedBody) finish() {
	b.once.Do(func() {
		b.message()
		b.done(b.status, b.messages)
	})
}
