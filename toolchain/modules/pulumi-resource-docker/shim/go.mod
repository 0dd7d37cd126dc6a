// A nested module only so that this folder stays out of
// module dind-provisioner/tools/pulumi-resource-docker (shim.go is copied into the Terraform upstream
// by scripts/bootstrap/pulumi-docker-plugin.sh, and compiles only there).
module dind-provisioner/tools/pulumi-resource-docker/shim
