#!/usr/bin/env bash
# Builds and installs the Pulumi resource plugin `docker` (pulumi-resource-docker) that the
# npm SDK @pulumi/docker drives, on a machine without get.pulumi.com or GitHub.
#
# The official provider module (github.com/pulumi/pulumi-docker/provider/v4, /v5) is refused
# by the Go module proxy, so this builds the nearest real thing: the Terraform upstream
# kreuzwerker/terraform-provider-docker (SDKv2) served through pulumi-terraform-bridge, with
# the names and tokens of @pulumi/docker (toolchain/modules/pulumi-resource-docker: resources.go,
# and bridge.conf for what the build needs). Not provided: pulumi-docker's native buildx
# resource docker.Image (docker:index/image:Image). It carries the project's fixes to the
# upstream (toolchain/modules/pulumi-resource-docker/patches: a network waits 2 s only when the
# daemon says it must), so it reports and installs as version <SDK's>+dind.N.
#
# The work is done by pulumi-bridged-plugin.sh (its part of --help below tells the steps, the
# cache and the cache key, and what --without-patches builds); a warm run only checks the key
# and the installed copy.
#
# Usage: toolchain/steps/pulumi-docker-plugin.sh [--force] [--print-path] [--without-patches]
set -euo pipefail
BRIDGED_PLUGIN_WRAPPER="${BASH_SOURCE[0]}" exec bash "$(dirname "${BASH_SOURCE[0]}")/pulumi-bridged-plugin.sh" docker "$@"
