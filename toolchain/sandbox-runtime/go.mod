module dind-provisioner/toolchain/sandbox-runtime

go 1.19
