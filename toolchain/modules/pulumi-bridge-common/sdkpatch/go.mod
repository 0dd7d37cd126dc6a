// A nested module only so that this folder is no Go package of its own (its files are copied
// into Pulumi's fork of terraform-plugin-sdk/v2 by toolchain/steps/pulumi-bridged-plugin.sh,
// and compile only there).
module dind-provisioner/toolchain/modules/pulumi-bridge-common/sdkpatch
