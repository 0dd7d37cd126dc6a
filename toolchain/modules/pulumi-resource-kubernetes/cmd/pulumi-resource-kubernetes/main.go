// Command pulumi-resource-kubernetes is the Pulumi resource plugin `kubernetes`, built from
// pulumi-kubernetes' own provider module (the Go module proxy serves it at a pseudo-version).
// It is the upstream cmd/pulumi-resource-kubernetes/main.go: the upstream embeds its
// schema.json and terraform-mapping.json after `go generate` stamps the version into them;
// toolchain/steps/pulumi-kubernetes-plugin.sh does that step and writes both files next to
// this one in its build copy of the module.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
