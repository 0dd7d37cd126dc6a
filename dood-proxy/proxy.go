package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Proxy stands between one client and the daemon's socket and applies the client's policy.
type Proxy struct {
	policy   Policy
	upstream string
	forward  *httputil.ReverseProxy
	lookups  *http.Client
	// resolve follows symbolic links of a host path (replaced in tests).
	resolve func(string) string
	// sockets says which bind sources are the daemon's socket, given the proxy's instead.
	sockets socketRewrite
	// tags are the image tags this client created.
	tags *tagRecords
}

func NewProxy(policy Policy, upstream string) *Proxy {
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", upstream)
		},
		MaxIdleConnsPerHost: 16,
		// Uploads (load, build contexts) go out in large writes, not 4 KiB ones.
		WriteBufferSize: 256 << 10,
		ReadBufferSize:  256 << 10,
	}
	x := &Proxy{policy: policy, upstream: upstream, lookups: &http.Client{Transport: transport, CheckRedirect: noRedirects}, resolve: resolveHostPath, tags: newTagRecords()}
	x.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host, pr.Out.Host = "http", "docker", "docker"
		},
		Transport:     transport,
		FlushInterval: -1, // logs -f, events, pull progress: every write goes out at once
		ModifyResponse: func(resp *http.Response) error {
			if done, ok := resp.Request.Context().Value(doneKey{}).(func(int, []streamMessage)); ok {
				resp.Body = &watchedBody{ReadCloser: resp.Body, status: resp.StatusCode, done: done}
			}
			if edit, ok := resp.Request.Context().Value(editKey{}).(func(any)); ok && resp.StatusCode == http.StatusOK {
				return editJSON(resp, edit)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var refused refusalError
			if errors.As(err, &refused) {
				log.Printf("refused %s %s: %s", r.Method, r.URL.RequestURI(), refused.refusal.Message)
				writeError(w, refused.refusal)
				return
			}
			writeError(w, &Refusal{http.StatusBadGateway, "dood policy: the daemon did not answer: " + err.Error()})
		},
	}
	return x
}

// doneKey and editKey carry a call's done and edit hooks from admit to the response.
type (
	doneKey struct{}
	editKey struct{}
)

// The largest answer the proxy edits (a list of every network of a client is far smaller).
const maxEditedAnswer = 32 << 20

// editJSON rewrites a JSON answer in place.
func editJSON(resp *http.Response, edit func(any)) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxEditedAnswer+1))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(data) > maxEditedAnswer {
		return fmt.Errorf("the daemon's answer is larger than %d bytes", maxEditedAnswer)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var answer any
	if err := dec.Decode(&answer); err != nil {
		return fmt.Errorf("reading the daemon's answer: %v", err)
	}
	edit(answer)
	if data, err = json.Marshal(answer); err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	resp.ContentLength = int64(len(data))
	resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
	resp.Header.Del("Transfer-Encoding")
	return nil
}

// noRedirects keeps a lookup on the path it asked for (the daemon redirects unclean paths).
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// call is one request on its way through: its path split after the version prefix, its query.
type call struct {
	r       *http.Request
	version string
	segs    []string
	query   url.Values
	// name is the route's {name+} capture (an image name may hold slashes).
	name string
	// done, when set, runs once the daemon's answer has been passed on: its status and the JSON
	// messages of its stream that matter to the proxy (see watchedBody).
	done func(status int, messages []streamMessage)
	// edit, when set, rewrites the daemon's JSON answer (a success) before the client reads it.
	edit func(answer any)
}

type handler func(x *Proxy, c *call) *Refusal

type route struct {
	method  string
	pattern []string
	handle  handler
}

var versionPrefix = regexp.MustCompile(`^/v(1)\.([0-9]{1,2})(/.*)$`)

// normalize refuses every path the daemon's router could read differently from the proxy:
// percent-encoding, backslashes, '.' and '..' segments, doubled or trailing slashes, a bad
// API version. What is forwarded is the path that was checked.
func normalize(r *http.Request) (version string, rest string, refusal *Refusal) {
	raw := r.URL.EscapedPath()
	p := r.URL.Path
	if strings.ContainsAny(raw, "%\\") || strings.ContainsFunc(p, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return "", "", badRequest("path %q: encoded or control characters are not accepted", raw)
	}
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return "", "", badRequest("path %q is not in canonical form", p)
	}
	if m := versionPrefix.FindStringSubmatch(p); m != nil {
		minor, _ := strconv.Atoi(m[2])
		if minor < 12 {
			return "", "", badRequest("API version v1.%d is not supported", minor)
		}
		return "/v1." + strconv.Itoa(minor), m[3], nil
	}
	if strings.HasPrefix(p, "/v") && len(p) > 2 && p[2] >= '0' && p[2] <= '9' {
		return "", "", badRequest("path %q has an invalid API version", p)
	}
	return "", p, nil
}

func (x *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, refusal := x.admit(r)
	if refusal != nil {
		log.Printf("refused %s %s: %s", r.Method, r.URL.RequestURI(), refusal.Message)
		writeError(w, refusal)
		return
	}
	// The daemon hijacks the connection of an exec start or attach whether or not the client asked
	// for an upgrade, and ends the stream by closing it: relay it as the raw stream it is. Through
	// the pooled transport the close raced the transport's own (the client then lost the stream's
	// end: dockerode's exec without upgrade waited forever, and Testcontainers' Node.js process
	// exited 0 having printed nothing).
	if r.Header.Get("Upgrade") != "" || isStreamStart(r) {
		x.hijack(w, r)
		return
	}
	if c.done != nil {
		r = r.WithContext(context.WithValue(r.Context(), doneKey{}, c.done))
	}
	if c.edit != nil {
		r = r.WithContext(context.WithValue(r.Context(), editKey{}, c.edit))
	}
	x.forward.ServeHTTP(w, r)
}

// admit checks a request and rewrites it into what is forwarded, or says why not.
func (x *Proxy) admit(r *http.Request) (*call, *Refusal) {
	version, rest, refusal := normalize(r)
	if refusal != nil {
		return nil, refusal
	}
	if strings.Contains(r.URL.RawQuery, ";") {
		return nil, badRequest("';' in a query is not accepted")
	}
	// The daemon also reads parameters from form bodies; the Docker API never sends them.
	if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mediaType == "application/x-www-form-urlencoded" || mediaType == "multipart/form-data" {
		return nil, badRequest("form bodies are not accepted")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("query: %v", err)
	}
	c := &call{r: r, version: version, segs: strings.Split(rest, "/")[1:], query: query}
	handle := x.match(r.Method, c)
	if handle == nil {
		return nil, x.policy.deny("default deny", "%s %s is not an endpoint this proxy allows", r.Method, rest)
	}
	if refusal := handle(x, c); refusal != nil {
		return nil, refusal
	}
	r.URL.Path = version + "/" + strings.Join(c.segs, "/")
	r.URL.RawPath = ""
	r.URL.RawQuery = c.query.Encode()
	r.RequestURI = r.URL.RequestURI()
	return c, nil
}

func (x *Proxy) match(method string, c *call) handler {
	for _, rt := range routes {
		if rt.method != method && !(method == http.MethodHead && rt.method == http.MethodGet) {
			continue
		}
		if name, ok := matchPattern(rt.pattern, c.segs); ok {
			c.name = name
			return rt.handle
		}
	}
	return nil
}

// matchPattern matches path segments against a pattern: "{id}" is one non-empty segment,
// "{name+}" one or more (image names hold slashes) followed by the pattern's remaining literals.
func matchPattern(pattern, segs []string) (string, bool) {
	for i, p := range pattern {
		if p == "{name+}" {
			tail := pattern[i+1:]
			if len(segs)-i-len(tail) < 1 {
				return "", false
			}
			nameSegs := segs[i : len(segs)-len(tail)]
			for j, t := range tail {
				if segs[len(segs)-len(tail)+j] != t {
					return "", false
				}
			}
			return strings.Join(nameSegs, "/"), true
		}
		if i >= len(segs) || (p == "{id}" && segs[i] == "") || (p != "{id}" && p != segs[i]) {
			return "", false
		}
	}
	return "", len(pattern) == len(segs)
}

// writeError answers in the daemon's own error shape.
func writeError(w http.ResponseWriter, refusal *Refusal) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(refusal.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": refusal.Message})
}

// withJSONBody reads, checks and re-serializes the request's JSON body.
func withJSONBody(check func(x *Proxy, c *call, body map[string]any) *Refusal) handler {
	return func(x *Proxy, c *call) *Refusal {
		body, refusal := readJSONObject(c.r.Body)
		if refusal != nil {
			return refusal
		}
		if refusal := check(x, c, body); refusal != nil {
			return refusal
		}
		data, err := json.Marshal(body)
		if err != nil {
			return badRequest("request body: %v", err)
		}
		c.r.Body = io.NopCloser(bytes.NewReader(data))
		c.r.ContentLength = int64(len(data))
		c.r.TransferEncoding = nil
		c.r.Header.Del("Transfer-Encoding")
		c.r.Header.Set("Content-Length", strconv.Itoa(len(data)))
		c.r.Header.Set("Content-Type", "application/json")
		return nil
	}
}

// flushingWriter sends every write to the client at once.
type flushingWriter struct{ w http.ResponseWriter }

func (f flushingWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
	}
	return n, err
}

// isStreamStart says whether a request is one the daemon answers by hijacking its connection.
func isStreamStart(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(segs) > 0 && strings.HasPrefix(segs[0], "v1.") {
		segs = segs[1:]
	}
	return len(segs) == 3 && ((segs[0] == "exec" && segs[2] == "start") || (segs[0] == "containers" && segs[2] == "attach"))
}

// hijack carries an attach or exec stream (101 UPGRADED) both ways, keeping half-closes:
// the client closing its stdin must not cut the output that is still coming.
func (x *Proxy) hijack(w http.ResponseWriter, r *http.Request) {
	up, err := net.Dial("unix", x.upstream)
	if err != nil {
		writeError(w, &Refusal{http.StatusBadGateway, "dood policy: the daemon did not answer: " + err.Error()})
		return
	}
	defer up.Close()
	out := r.Clone(r.Context())
	out.Host, out.URL.Host, out.URL.Scheme = "docker", "", ""
	// A daemon may answer and close before it has read all of the request: its answer counts.
	writeErr := out.Write(up)
	fromDaemon := bufio.NewReader(up)
	resp, err := http.ReadResponse(fromDaemon, out)
	if err != nil {
		if writeErr != nil {
			err = writeErr
		}
		writeError(w, &Refusal{http.StatusBadGateway, "dood policy: the daemon's answer: " + err.Error()})
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		// A raw stream (an exec without upgrade) goes out as it comes.
		_, _ = io.Copy(flushingWriter{w}, resp.Body)
		return
	}
	client, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer client.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := client.Write(head.Bytes()); err != nil {
		return
	}
	go func() {
		_, err := io.Copy(up, buffered.Reader)
		if closer, ok := up.(interface{ CloseWrite() error }); ok && err == nil {
			_ = closer.CloseWrite()
		} else {
			up.Close()
		}
	}()
	_, _ = io.Copy(client, fromDaemon)
}
