// Package shim is copied by toolchain/steps/pulumi-docker-plugin.sh into the unpacked
// Terraform upstream (github.com/kreuzwerker/terraform-provider-docker, whose go.mod says
// module github.com/terraform-providers/terraform-provider-docker) as <upstream>/shim.
//
// The upstream keeps its provider constructors in internal/provider, which only packages
// rooted at the upstream module may import. Placed at <upstream>/shim this package is such
// a package, and re-exports the constructors for the bridge module
// (toolchain/modules/pulumi-resource-docker), the same trick pulumi-docker's own provider uses.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"

	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the upstream's SDKv2 provider (every resource and data source that
// @pulumi/docker 5.2.0 exposes lives on this half of the upstream's mux).
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}
