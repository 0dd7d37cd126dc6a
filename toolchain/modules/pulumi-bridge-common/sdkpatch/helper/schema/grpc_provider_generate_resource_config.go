// Copied by toolchain/steps/pulumi-bridged-plugin.sh into its copy of Pulumi's fork of
// terraform-plugin-sdk/v2 (the version pulumi-terraform-bridge v3.120.0 pins), as
// helper/schema/grpc_provider_generate_resource_config.go, for the plugins whose description
// says SDK_FORK_PATCH=yes (docker, and tls: the bridge compiles the fork in for pf too).
// The fork is based on hashicorp/terraform-plugin-sdk v2.38.1, built against
// terraform-plugin-go v0.29.0. Both Terraform upstreams require terraform-plugin-go v0.31.0,
// whose tfprotov5.ResourceServer gained GenerateResourceConfig (the `terraform plan
// -generate-config-out` RPC), so the fork's `var _ tfprotov5.ProviderServer =
// (*GRPCProviderServer)(nil)` no longer compiles. This adds the method. The fork's
// serverCapabilities() does not advertise GenerateResourceConfig, and the Pulumi bridge never
// issues that RPC, so it only answers with an error diagnostic. (Keep this header 12 lines
// long: line numbers end up in the plugin binaries.)

package schema

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
)

func (s *GRPCProviderServer) GenerateResourceConfig(ctx context.Context, req *tfprotov5.GenerateResourceConfigRequest) (*tfprotov5.GenerateResourceConfigResponse, error) {
	return &tfprotov5.GenerateResourceConfigResponse{
		Diagnostics: []*tfprotov5.Diagnostic{
			{
				Severity: tfprotov5.DiagnosticSeverityError,
				Summary:  "Unsupported Generate Config Request",
				Detail:   fmt.Sprintf("Generating configuration for %q is not supported by this build of the provider.", req.TypeName),
			},
		},
	}, nil
}
