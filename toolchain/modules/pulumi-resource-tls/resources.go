// Package tlsbridge holds the ProviderInfo that maps the Terraform upstream
// (hashicorp/terraform-provider-tls, a plugin-framework provider built from the Go module
// proxy) onto the names and tokens of the npm SDK @pulumi/tls 5.6.1.
//
// Both binaries of this module use it:
//   - cmd/pulumi-tfgen-tls generates the Pulumi schema (and bridge-metadata.json) from it;
//     the build script checks the schema against the SDK's TypeScript declarations;
//   - cmd/pulumi-resource-tls serves it as the resource plugin, with both files embedded.
package tlsbridge

import (
	"os"

	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"

	"github.com/hashicorp/terraform-provider-tls/shim"
)

const (
	// PackageName is the Pulumi package (and plugin) name: `tls`.
	PackageName = "tls"
	// SDKVerifiedVersion is the @pulumi/tls version whose names and tokens this
	// ProviderInfo was checked against.
	SDKVerifiedVersion = "5.6.1"

	mainMod = "index"
)

// UpstreamDirEnv, when set (by the build script, for tfgen only), points the bridge at the
// unpacked upstream source so that tfgen finds the upstream's docs/ folder.
const UpstreamDirEnv = "TLS_TF_UPSTREAM_DIR"

// Provider returns the ProviderInfo for the given plugin version (read by the build script
// from node_modules/@pulumi/tls/package.json, field pulumi.version). metadata is the
// bridge-metadata.json that tfgen wrote (tfgen itself starts from an empty "{}").
func Provider(version string, metadata []byte) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:                 pfbridge.ShimProvider(shim.NewProvider()),
		Name:              PackageName,
		Version:           version,
		DisplayName:       "TLS",
		Description:       "A Pulumi package to create TLS resources in Pulumi programs.",
		Keywords:          []string{"pulumi", "tls"},
		License:           "Apache-2.0",
		Homepage:          "https://pulumi.io",
		Repository:        "https://github.com/pulumi/pulumi-tls",
		Publisher:         "Pulumi",
		GitHubOrg:         "hashicorp",
		UpstreamRepoPath:  os.Getenv(UpstreamDirEnv),
		TFProviderLicense: ptr(tfbridge.MPL20LicenseType),
		MetadataInfo:      tfbridge.NewProviderMetadata(metadata),
	}

	// Every upstream resource / data source gets the standard token:
	// tls_foo_bar -> tls:index/fooBar:FooBar, data source -> tls:index/getFooBar:getFooBar.
	// No field overrides are needed: the names match the SDK as generated, and the blocks the
	// SDK has as single objects (`subject`, the provider's `proxy`) are list blocks limited by
	// listvalidator.SizeAtMost(1) / SizeBetween(0, 1), which the pf bridge reads as MaxItems 1
	// (pkg/pf/internal/pfutils detectSizeConstraints) and flattens by itself. The build's
	// schema check fails if that ever changes.
	prov.MustComputeTokens(tokens.SingleModule("tls_", mainMod, tokens.MakeStandard(PackageName)))

	return prov
}

func ptr[T any](v T) *T { return &v }
