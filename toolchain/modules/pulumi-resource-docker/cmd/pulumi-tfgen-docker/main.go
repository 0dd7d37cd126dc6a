// Command pulumi-tfgen-docker generates the Pulumi package schema of the bridged docker
// provider: `pulumi-tfgen-docker schema --out DIR` writes DIR/schema.json.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	dockerbridge "dind-provisioner/toolchain/modules/pulumi-resource-docker"
)

// version is the plugin version, stamped with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

func main() {
	tfgen.Main(dockerbridge.PackageName, version, dockerbridge.Provider(version))
}
