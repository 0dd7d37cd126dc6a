// A nested module only so that this folder stays out of
// module dind-provisioner/toolchain/modules/pulumi-resource-docker (shim.go is copied into the Terraform upstream
// by toolchain/steps/pulumi-docker-plugin.sh, and compiles only there).
module dind-provisioner/toolchain/modules/pulumi-resource-docker/shim
