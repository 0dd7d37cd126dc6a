//go:build tools

// The programs this module exists to build, in one `go build` (scripts/bootstrap/kubernetes.sh):
// Kubernetes' control plane and node components, and the test cluster's storage provisioner.
// This file only keeps them in go.mod.
package tools

import (
	_ "github.com/rancher/local-path-provisioner"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
