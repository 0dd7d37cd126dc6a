#!/usr/bin/env bash
# Builds and installs the Pulumi resource plugin `tls` (pulumi-resource-tls) that the npm
# SDK @pulumi/tls drives, on a machine without get.pulumi.com or GitHub.
#
# The official provider module (github.com/pulumi/pulumi-tls/provider/v5, /v4) is refused by
# the Go module proxy, so this builds the nearest real thing: the Terraform upstream
# hashicorp/terraform-provider-tls (plugin framework) served through
# pulumi-terraform-bridge's pf bridge, with the names and tokens of @pulumi/tls
# (toolchain/modules/pulumi-resource-tls: resources.go, and bridge.conf for what the build needs).
#
# The work is done by pulumi-bridged-plugin.sh (its part of --help below tells the steps, the
# cache and the cache key); a warm run only checks the key and the installed copy.
#
# Usage: toolchain/steps/pulumi-tls-plugin.sh [--force] [--print-path]
#   --force       rebuild and reinstall even if up to date (also replaces a plugin that
#                 this script did not install)
#   --print-path  print the installed plugin binary's path on stdout when done
set -euo pipefail
BRIDGED_PLUGIN_WRAPPER="${BASH_SOURCE[0]}" exec bash "$(dirname "${BASH_SOURCE[0]}")/pulumi-bridged-plugin.sh" tls "$@"
