package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSubcommand(t *testing.T) {
	cases := []struct {
		args []string
		cmd  string
	}{
		{[]string{"--root", "/r", "--log", "/l", "--log-format", "json", "create", "--bundle", "/b", "id"}, "create"},
		{[]string{"--root=/r", "--debug", "exec", "--process", "/p", "id"}, "exec"},
		{[]string{"-root", "/r", "--systemd-cgroup", "state", "id"}, "state"},
		{[]string{"--version"}, ""},
		{[]string{}, ""},
	}
	for _, c := range cases {
		if got, _ := subcommand(c.args); got != c.cmd {
			t.Errorf("subcommand(%q) = %q, want %q", c.args, got, c.cmd)
		}
	}
}

func TestFlagValue(t *testing.T) {
	for _, args := range [][]string{
		{"--pid-file", "/x", "--bundle", "/b", "id"},
		{"--bundle=/b", "id"},
		{"-b", "/b", "--console-socket", "/s", "id"},
		{"--no-pivot", "-bundle", "/b", "id"},
	} {
		if v, ok := flagValue(args, "bundle", "b"); !ok || v != "/b" {
			t.Errorf("flagValue(%q) = %q, %v", args, v, ok)
		}
	}
	if _, ok := flagValue([]string{"--", "--bundle", "/b"}, "bundle", "b"); ok {
		t.Errorf("flag after -- must not count")
	}
}

func TestEditCapsKeepsEverythingElse(t *testing.T) {
	in := `{"ociVersion":"1.0.2","process":{"args":["sh"],"rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":1048576}],` +
		`"capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"effective":["CAP_SYS_RESOURCE"],"permitted":["CAP_CHOWN"]}},"linux":{"x":1}}`
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := map[string]bool{"CAP_SYS_RESOURCE": true}
	out, changed, err := editPath([]byte(in), []string{"process", "capabilities"}, missing)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	var got struct {
		OCIVersion string `json:"ociVersion"`
		Process    struct {
			Rlimits []struct {
				Hard json.Number `json:"hard"`
			} `json:"rlimits"`
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
		Linux map[string]int `json:"linux"`
	}
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if err := d.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"bounding": {"CAP_CHOWN"}, "effective": {}, "permitted": {"CAP_CHOWN"}}
	if !reflect.DeepEqual(got.Process.Capabilities, want) {
		t.Errorf("caps = %v, want %v", got.Process.Capabilities, want)
	}
	if got.Process.Rlimits[0].Hard.String() != "18446744073709551615" || got.OCIVersion != "1.0.2" || got.Linux["x"] != 1 {
		t.Errorf("other fields changed: %s", out)
	}
	// Nothing to remove: no rewrite.
	if _, changed, _ := editPath(out, []string{"process", "capabilities"}, missing); changed {
		t.Errorf("second edit should change nothing")
	}
	// A process file (docker exec) has capabilities at the top level.
	if _, changed, _ := editPath([]byte(`{"capabilities":{"bounding":["CAP_SYS_RESOURCE"]}}`), []string{"capabilities"}, missing); !changed {
		t.Errorf("process file not edited")
	}
}
