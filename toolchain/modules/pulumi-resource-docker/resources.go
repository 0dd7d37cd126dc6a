// Package dockerbridge holds the ProviderInfo that maps the Terraform upstream
// (kreuzwerker/terraform-provider-docker, built from the Go module proxy) onto the
// names and tokens of the npm SDK @pulumi/docker 5.2.0.
//
// Both binaries of this module use it:
//   - cmd/pulumi-tfgen-docker generates the Pulumi schema from it (checked against the
//     SDK's TypeScript declarations by ../pulumi-bridge-common/check-schema.js);
//   - cmd/pulumi-resource-docker serves it as the resource plugin, with that schema
//     embedded.
//
// What is mapped was verified against @pulumi/docker 5.2.0; SDKVerifiedVersion says so
// and toolchain/steps/pulumi-docker-plugin.sh warns when the installed SDK differs.
package dockerbridge

import (
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"

	"github.com/terraform-providers/terraform-provider-docker/shim"
)

const (
	// PackageName is the Pulumi package (and plugin) name: `docker`.
	PackageName = "docker"
	// SDKVerifiedVersion is the @pulumi/docker version whose names and tokens this
	// ProviderInfo was checked against.
	SDKVerifiedVersion = "5.2.0"

	mainMod = "index"
)

// UpstreamDirEnv, when set (by the build script, for tfgen only), points the bridge at the
// unpacked upstream source so that tfgen finds the upstream's docs/ folder.
const UpstreamDirEnv = "DOCKER_TF_UPSTREAM_DIR"

// UpstreamVersion is the upstream's Go module version, stamped in by the build script with
// -ldflags "-X dind-provisioner/toolchain/modules/pulumi-resource-docker.UpstreamVersion=...".
var UpstreamVersion = "unknown"

func resource(name string) tfbridge.ResourceInfo {
	return tfbridge.ResourceInfo{Tok: tfbridge.MakeResource(PackageName, mainMod, name)}
}

func dataSource(name string) tfbridge.DataSourceInfo {
	return tfbridge.DataSourceInfo{Tok: tfbridge.MakeDataSource(PackageName, mainMod, name)}
}

// Provider returns the ProviderInfo for the given plugin version (read by the build script
// from node_modules/@pulumi/docker/package.json, field pulumi.version).
func Provider(version string) tfbridge.ProviderInfo {
	// The upstream's own version string only ends up in its User-Agent; keep it
	// recognisable as a bridged build of the proxy's upstream.
	p := shimv2.NewProvider(shim.NewProvider("pulumi-bridged-" + UpstreamVersion))

	container := resource("Container")
	// Replacing a container deletes the old one first: a container name (and a
	// published host port) cannot be held by two containers at once.
	container.DeleteBeforeReplace = true
	container.Fields = map[string]*tfbridge.SchemaInfo{
		// A list, but it is one command (["echo", "1"]): not pluralised in the SDK.
		"command": {Name: "command"},
		// Not pluralised in the SDK either.
		"networks_advanced": {Name: "networksAdvanced"},
	}

	remoteImage := resource("RemoteImage")
	remoteImage.Fields = map[string]*tfbridge.SchemaInfo{
		// `name` is the image reference, required in the SDK: keep it out of
		// SetAutonaming's reach.
		"name": {Name: "name"},
	}

	resources := map[string]*tfbridge.ResourceInfo{
		"docker_container": &container,
		"docker_image":     &remoteImage,
		// The SDK's `Image` token is pulumi-docker's native buildx resource, which this
		// bridged plugin does not implement. docker_image is `RemoteImage` there.
		"docker_config": ptr(resource("ServiceConfig")),
	}
	dataSources := map[string]*tfbridge.DataSourceInfo{
		"docker_image": ptr(dataSource("getRemoteImage")),
	}

	prov := tfbridge.ProviderInfo{
		P:                 p,
		Name:              PackageName,
		Version:           version,
		DisplayName:       "Docker",
		Description:       "A Pulumi package for interacting with Docker in Pulumi programs",
		Keywords:          []string{"pulumi", "docker"},
		License:           "Apache-2.0",
		Homepage:          "https://pulumi.io",
		Repository:        "https://github.com/pulumi/pulumi-docker",
		Publisher:         "Pulumi",
		GitHubOrg:         "kreuzwerker",
		UpstreamRepoPath:  os.Getenv(UpstreamDirEnv),
		TFProviderLicense: ptr(tfbridge.MPL20LicenseType),
		Config: map[string]*tfbridge.SchemaInfo{
			"host": {
				Default: &tfbridge.DefaultInfo{
					EnvVars: []string{"DOCKER_HOST"},
					Value:   "unix:///var/run/docker.sock",
				},
			},
			// A set of blocks, but the SDK keeps the singular name.
			"registry_auth": {Name: "registryAuth"},
		},
		Resources:   resources,
		DataSources: dataSources,
	}

	// Every other upstream resource / data source gets the standard token:
	// docker_foo_bar -> docker:index/fooBar:FooBar, data source -> getFooBar.
	prov.MustComputeTokens(tokens.SingleModule("docker_", mainMod, tokens.MakeStandard(PackageName)))

	// Like pulumi-docker: an optional string `name` gets `<resource name>-<random>` when
	// the program gives none.
	prov.SetAutonaming(255, "-")

	return prov
}

func ptr[T any](v T) *T { return &v }
