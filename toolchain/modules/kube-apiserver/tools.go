//go:build tools

// The one package this module exists to build: toolchain/steps/kube-apiserver.sh runs
// `go build k8s.io/kubernetes/cmd/kube-apiserver` here (this file only keeps it in go.mod).
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
