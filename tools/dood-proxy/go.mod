module dind-provisioner/tools/dood-proxy

go 1.24
