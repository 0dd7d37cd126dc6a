// Package shim is copied by toolchain/steps/pulumi-bridged-plugin.sh into the unpacked
// Terraform upstream (github.com/hashicorp/terraform-provider-tls) as <upstream>/shim.
//
// The upstream keeps its provider constructor in internal/provider, which only packages
// rooted at the upstream module may import. Placed at <upstream>/shim this package is such
// a package, and re-exports the constructor for the bridge module (toolchain/modules/pulumi-resource-tls).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"

	tlsprovider "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the upstream's plugin-framework provider.
func NewProvider() provider.Provider {
	return tlsprovider.New()
}
