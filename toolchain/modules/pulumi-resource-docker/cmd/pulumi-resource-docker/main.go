// Command pulumi-resource-docker is the Pulumi resource plugin `docker`: the Terraform
// upstream kreuzwerker/terraform-provider-docker served through pulumi-terraform-bridge,
// with the names and tokens of @pulumi/docker (see ../../resources.go).
//
// schema.json is not kept in the repository: toolchain/steps/pulumi-docker-plugin.sh
// generates it with cmd/pulumi-tfgen-docker, checks it against the SDK and writes it
// next to this file in its build copy of the module before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	dockerbridge "dind-provisioner/toolchain/modules/pulumi-resource-docker"
)

// version is the plugin version, stamped with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

//go:embed schema.json
var pulumiSchema []byte

func main() {
	tfbridge.Main(dockerbridge.PackageName, version, dockerbridge.Provider(version), pulumiSchema)
}
