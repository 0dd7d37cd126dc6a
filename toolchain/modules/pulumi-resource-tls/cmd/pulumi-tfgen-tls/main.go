// Command pulumi-tfgen-tls generates the Pulumi package schema of the bridged tls provider:
// `pulumi-tfgen-tls schema --out DIR` writes DIR/schema.json and DIR/bridge-metadata.json.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	tlsbridge "dind-provisioner/toolchain/modules/pulumi-resource-tls"
)

// version is the plugin version, stamped with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

func main() {
	tfgen.Main(tlsbridge.PackageName, tlsbridge.Provider(version, []byte("{}")))
}
