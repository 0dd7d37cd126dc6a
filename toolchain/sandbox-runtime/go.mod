module dind-provisioner/test/setup/sandbox-runtime

go 1.19
