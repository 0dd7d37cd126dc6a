// Command pulumi-resource-tls is the Pulumi resource plugin `tls`: the Terraform upstream
// hashicorp/terraform-provider-tls served through pulumi-terraform-bridge's plugin-framework
// bridge, with the names and tokens of @pulumi/tls (see ../../resources.go).
//
// schema.json and bridge-metadata.json are not kept in the repository: the build script
// generates them with cmd/pulumi-tfgen-tls, checks the schema against the SDK and writes
// them next to this file in its build copy of the module before building.
package main

import (
	"context"
	_ "embed"

	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	tlsbridge "dind-provisioner/toolchain/modules/pulumi-resource-tls"
)

// version is the plugin version, stamped with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

var (
	//go:embed schema.json
	pulumiSchema []byte
	//go:embed bridge-metadata.json
	bridgeMetadata []byte
)

func main() {
	pfbridge.Main(context.Background(), tlsbridge.PackageName, tlsbridge.Provider(version, bridgeMetadata),
		pfbridge.ProviderMetadata{PackageSchema: pulumiSchema})
}
