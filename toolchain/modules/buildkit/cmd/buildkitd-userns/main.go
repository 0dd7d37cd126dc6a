// buildkitd-userns runs buildkitd as the root of a user namespace of its own, mapped onto ids
// that are nobody on the machine (100000-165535), so a DooD client's builder needs no privilege:
// not --privileged, no capability beyond SETUID, SETGID and CHOWN, no setuid helper. It runs as
// the container's root, gives buildkitd's directories to the mapped root, starts buildkitd in a
// new user and mount namespace (its ids mapped by this process, which the kernel allows a parent
// with CAP_SETUID/CAP_SETGID), and passes signals on. Inside, buildkitd is rootless as BuildKit
// means it: overlay snapshots on its own mounts, build steps run by runc in that namespace.
//
// Why not rootlesskit: it maps ids with the setuid newuidmap, which writes the map as euid 0
// and so needs CAP_SYS_ADMIN in the container's bounding set (see docs/dood-buildkit.md).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
)

const (
	// The machine's ids the namespace's 0-65535 are mapped onto.
	hostID    = 100000
	idsMapped = 65536
	// buildkitd's state, its socket's directory, and runc's state (the build steps' containers).
	stateDir  = "/var/lib/buildkit"
	socketDir = "/run/buildkit"
	runcDir   = "/run/runc"
)

func main() {
	// The directories become the mapped root's on the first start: mode first, then owner (once
	// they are its, this process, with neither CAP_DAC_OVERRIDE nor CAP_FOWNER, could not change
	// them). The socket's directory is shared with the policy proxy, which dials the socket as a
	// member of the mapped root's group.
	for _, dir := range []struct {
		path string
		mode os.FileMode
	}{{stateDir, 0o700}, {socketDir, 0o750}, {runcDir, 0o700}} {
		if err := os.MkdirAll(dir.path, dir.mode); err != nil {
			fail(err)
		}
		info, err := os.Stat(dir.path)
		if err != nil {
			fail(err)
		}
		if info.Sys().(*syscall.Stat_t).Uid == hostID {
			continue
		}
		if err := os.Chmod(dir.path, dir.mode); err != nil {
			fail(err)
		}
		if err := os.Lchown(dir.path, hostID, hostID); err != nil {
			fail(err)
		}
	}
	cmd := exec.Command("buildkitd", os.Args[1:]...)
	// Its temporary directories (mount points among them) on the container's own /tmp.
	cmd.Env = append(os.Environ(), "TMPDIR=/tmp")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	idMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: hostID, Size: idsMapped}}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                idMap,
		GidMappings:                idMap,
		GidMappingsEnableSetgroups: true,
		Credential:                 &syscall.Credential{Uid: 0, Gid: 0},
		Pdeathsig:                  syscall.SIGKILL,
	}
	// Pdeathsig follows the thread that started buildkitd: keep it.
	runtime.LockOSThread()
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	go func() {
		for s := range signals {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	if exit, ok := err.(*exec.ExitError); ok {
		os.Exit(exit.ExitCode())
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "buildkitd-userns: %v\n", err)
	os.Exit(1)
}
