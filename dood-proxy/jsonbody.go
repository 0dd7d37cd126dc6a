package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// MaxJSONBody bounds the JSON bodies the proxy reads to check them; larger ones are refused.
const MaxJSONBody = 1 << 20

// readJSONObject reads a request body that the proxy checks: bounded, one JSON object, and no
// key the daemon could read differently from the proxy (Go's decoder, which the daemon uses too,
// matches struct fields case-insensitively and keeps the last of duplicate keys).
func readJSONObject(body io.Reader) (map[string]any, *Refusal) {
	data, err := io.ReadAll(io.LimitReader(body, MaxJSONBody+1))
	if err != nil {
		return nil, badRequest("reading the request body: %v", err)
	}
	if len(data) > MaxJSONBody {
		return nil, &Refusal{413, "dood policy: request body larger than 1 MiB"}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	if err := checkKeys(data); err != nil {
		return nil, badRequest("request body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return nil, badRequest("request body: %v", err)
	}
	obj, ok := value.(map[string]any)
	if !ok {
		return nil, badRequest("request body: expected a JSON object")
	}
	return obj, nil
}

// checkKeys refuses duplicate keys (compared case-insensitively), non-ASCII keys (Go folds
// some of them onto ASCII letters) and more than one top-level value.
func checkKeys(data []byte) error {
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]bool
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	values := 0
	valueDone := func() {
		if len(stack) == 0 {
			values++
		} else if top := stack[len(stack)-1]; top.object {
			top.wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if values > 0 {
			return errors.New("more than one JSON value")
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, isString := tok.(string); isString && top != nil && top.object && top.wantKey {
			for _, r := range key {
				if r > 0x7f {
					return errors.New("non-ASCII key " + jsonQuote(key))
				}
			}
			folded := strings.ToLower(key)
			if top.keys[folded] {
				return errors.New("duplicate key " + jsonQuote(key))
			}
			top.keys[folded] = true
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
	return nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// field finds a key the way Go's decoder matches a struct field (ASCII case-insensitively).
func field(obj map[string]any, name string) (string, any) {
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return k, v
		}
	}
	return name, nil
}

func setField(obj map[string]any, name string, value any) {
	key, _ := field(obj, name)
	obj[key] = value
}

// A typed view of one field; a value of the wrong type is refused, as the daemon would.
func objectField(obj map[string]any, name string) (map[string]any, *Refusal) {
	_, v := field(obj, name)
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("%s: expected an object", name)
	}
	return m, nil
}

func stringField(obj map[string]any, name string) (string, *Refusal) {
	_, v := field(obj, name)
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", badRequest("%s: expected a string", name)
	}
	return s, nil
}

func boolField(obj map[string]any, name string) (bool, *Refusal) {
	_, v := field(obj, name)
	if v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, badRequest("%s: expected true or false", name)
	}
	return b, nil
}

func listField(obj map[string]any, name string) ([]any, *Refusal) {
	_, v := field(obj, name)
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, badRequest("%s: expected a list", name)
	}
	return l, nil
}

func stringListField(obj map[string]any, name string) ([]string, *Refusal) {
	l, refusal := listField(obj, name)
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, badRequest("%s: expected a list of strings", name)
		}
		out = append(out, s)
	}
	return out, refusal
}

// withOwnerLabel sets the owner label on an object's Labels (overriding one the client set).
func (p Policy) withOwnerLabel(obj map[string]any, name string) *Refusal {
	labels, refusal := objectField(obj, name)
	if refusal != nil {
		return refusal
	}
	if labels == nil {
		labels = map[string]any{}
	}
	labels[OwnerLabel] = p.Client
	setField(obj, name, labels)
	return nil
}
