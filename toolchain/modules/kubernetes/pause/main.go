// pause: the sandbox container of every pod (containerd's sandbox_image), as Kubernetes' own
// pause does: it holds the pod's namespaces, reaps the zombies it inherits as PID 1, and exits on
// SIGINT or SIGTERM. Kubernetes' is C; this one is Go so that it builds with the rest of the
// module, statically, offline.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
