module dind-provisioner/dood-proxy

go 1.24
