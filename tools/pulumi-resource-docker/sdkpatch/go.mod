// A nested module only so that this folder stays out of
// module dind-provisioner/tools/pulumi-resource-docker (its files are copied into Pulumi's fork of
// terraform-plugin-sdk/v2 by scripts/bootstrap/pulumi-docker-plugin.sh, and compile only there).
module dind-provisioner/tools/pulumi-resource-docker/sdkpatch
