import { engineApiVersion } from "../components/engineApi";
(async () => {
  const t0 = Date.now();
  console.log("unix", await engineApiVersion({ host: "unix:///var/run/docker.sock" }), Date.now() - t0);
  const t1 = Date.now();
  console.log("ssh", await engineApiVersion({ host: "ssh://root@172.17.0.7", sshOpts: ["-i", "/tmp/dind-provisioner-remote/ssh/id_ed25519", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"] }), Date.now() - t1);
})();
