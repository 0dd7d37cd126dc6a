// sandbox-runc: an OCI runtime wrapper around runc, for THIS SANDBOX ONLY.
//
// The machine the project is developed and tested on runs with a capability
// bounding set that lacks CAP_SYS_RESOURCE. Docker grants every capability to a
// --privileged container, and runc then fails with
// "unable to apply caps: operation not permitted" (for `docker exec` too).
//
// The wrapper removes from the OCI spec every capability the wrapper's own
// bounding set lacks (on this machine: exactly CAP_SYS_RESOURCE), then execs
// the real runc with the unchanged argv. It edits:
//   - <bundle>/config.json for `create`, `run` and `restore` (--bundle/-b DIR,
//     default: the working directory), key process.capabilities;
//   - the process file of `exec --process/-p FILE`, key capabilities.
//
// Every other invocation (state, start, kill, delete, ...) is passed through
// without reading anything. On a machine whose bounding set is complete the
// wrapper changes nothing at all. Product code never uses it: it is registered
// in /etc/docker/daemon.json by toolchain/sandbox-runtime/install.sh only when
// toolchain/steps/engine.sh's privileged probe fails with that error.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capNames is indexed by capability number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Global runc flags that take a value (runc 1.x, urfave/cli: -x or --x, "x=v").
var globalValueFlags = map[string]bool{
	"log": true, "log-format": true, "root": true, "criu": true, "rootless": true,
}

func main() {
	args := os.Args[1:]
	if err := adjust(args); err != nil {
		// Never block runc on our own failure: runc reports the real problem.
		fmt.Fprintf(os.Stderr, "sandbox-runc: warning: %v (passing through unchanged)\n", err)
	}
	runc := realRunc()
	err := syscall.Exec(runc, append([]string{runc}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "sandbox-runc: exec %s: %v\n", runc, err)
	os.Exit(127)
}

func realRunc() string {
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return "/usr/sbin/runc"
}

// flagName returns the name of a flag token ("--bundle=x" -> "bundle", true).
func flagName(tok string) (name, value string, hasValue, isFlag bool) {
	if len(tok) < 2 || tok[0] != '-' || tok == "--" {
		return "", "", false, false
	}
	name = strings.TrimLeft(tok, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], name[i+1:], true, true
	}
	return name, "", false, true
}

// subcommand finds the runc command after the global flags; rest is what follows it.
func subcommand(args []string) (cmd string, rest []string) {
	for i := 0; i < len(args); i++ {
		name, _, hasValue, isFlag := flagName(args[i])
		if !isFlag {
			if args[i] == "--" {
				return "", nil
			}
			return args[i], args[i+1:]
		}
		if globalValueFlags[name] && !hasValue {
			i++ // skip the flag's value
		}
	}
	return "", nil
}

// flagValue finds a flag anywhere in args (any of names, "-n v", "--n v", "--n=v").
func flagValue(args []string, names ...string) (string, bool) {
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			break
		}
		name, value, hasValue, isFlag := flagName(args[i])
		if !isFlag {
			continue
		}
		for _, n := range names {
			if name == n {
				if hasValue {
					return value, true
				}
				if i+1 < len(args) {
					return args[i+1], true
				}
				return "", false
			}
		}
	}
	return "", false
}

func adjust(args []string) error {
	cmd, rest := subcommand(args)
	switch cmd {
	case "create", "run", "restore":
		bundle, ok := flagValue(rest, "bundle", "b")
		if !ok || bundle == "" {
			bundle = "."
		}
		return editFile(filepath.Join(bundle, "config.json"), "process", "capabilities")
	case "exec":
		if file, ok := flagValue(rest, "process", "p"); ok && file != "" {
			return editFile(file, "capabilities")
		}
	}
	return nil
}

// missingCaps returns the capability names absent from our bounding set.
func missingCaps() (map[string]bool, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if !strings.HasPrefix(line, "CapBnd:") {
			continue
		}
		bnd, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "CapBnd:")), 16, 64)
		if err != nil {
			return nil, err
		}
		missing := map[string]bool{}
		for i, n := range capNames {
			if bnd&(1<<uint(i)) == 0 {
				missing[n] = true
			}
		}
		return missing, nil
	}
	return nil, fmt.Errorf("no CapBnd line in /proc/self/status")
}

// editFile removes missing capabilities from the object at path (a chain of
// keys) in the JSON file, rewriting it atomically only if something changed.
// Everything else is kept byte for byte (json.RawMessage); only the key order
// of the rewritten objects may change, which runc does not care about.
func editFile(file string, path ...string) error {
	missing, err := missingCaps()
	if err != nil || len(missing) == 0 {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out, changed, err := editPath(data, path, missing)
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if !changed {
		return nil
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".sandbox-runc-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

func editPath(data []byte, path []string, missing map[string]bool) ([]byte, bool, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, false, err
	}
	child, ok := obj[path[0]]
	if !ok || bytes.Equal(bytes.TrimSpace(child), []byte("null")) {
		return data, false, nil
	}
	var newChild []byte
	var changed bool
	var err error
	if len(path) > 1 {
		newChild, changed, err = editPath(child, path[1:], missing)
	} else {
		newChild, changed, err = editCaps(child, missing)
	}
	if err != nil || !changed {
		return data, false, err
	}
	obj[path[0]] = newChild
	out, err := json.Marshal(obj)
	return out, err == nil, err
}

// editCaps filters the lists (bounding, effective, inheritable, permitted, ambient).
func editCaps(data []byte, missing map[string]bool) ([]byte, bool, error) {
	var caps map[string]json.RawMessage
	if err := json.Unmarshal(data, &caps); err != nil {
		return nil, false, err
	}
	changed := false
	for key, raw := range caps {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil || list == nil {
			continue // not a list of names: leave it alone
		}
		kept := make([]string, 0, len(list))
		for _, c := range list {
			if missing[strings.ToUpper(c)] {
				continue
			}
			kept = append(kept, c)
		}
		if len(kept) != len(list) {
			b, err := json.Marshal(kept)
			if err != nil {
				return nil, false, err
			}
			caps[key] = b
			changed = true
		}
	}
	if !changed {
		return data, false, nil
	}
	out, err := json.Marshal(caps)
	return out, err == nil, err
}
