import * as assert from "node:assert/strict";
import { sshOptionProblems } from "../../../stackfile/ssh-options";
import { operatorConsent, pathConsentProblem } from "../../../stackfile/trust";

/** Everything allowed but the paths under /allowed. */
const paths = (file: string) => (file.startsWith("/allowed/") ? undefined : `reads ${file}`);
const refused = (options: string[]) => sshOptionProblems(options, paths).map((p) => p.index);

describe("ssh options a stack file may give", () => {
    it("takes the harmless options in every spelling ssh accepts", () => {
        for (const options of [
            ["-4"], ["-6Cq"], ["-T", "-x", "-a", "-k"],
            ["-o", "BatchMode=yes"], ["-oBatchMode=yes"], ["-o", "batchmode yes"], ["-o", " ConnectTimeout = 10"], ["-qo", "LogLevel=ERROR"],
            ["-o", "StrictHostKeyChecking=accept-new"], ["-o", "ControlPath=~/.ssh/cm-%C"], ["-o", "ControlPath=none"], ["-o", "ControlPersist=10m"],
            ["-i", "/allowed/key"], ["-i/allowed/key"], ["-F", "/allowed/ssh_config"], ["-o", "IdentityFile=/allowed/key"], ["-o", "UserKnownHostsFile /allowed/known"],
        ]) {
            assert.deepEqual(refused(options), [], options.join(" "));
        }
    });

    it("refuses what runs, loads, reads, writes or reaches something, and says which argument", () => {
        for (const [options, at] of [
            [["-o", "ProxyCommand=nc %h %p"], 1], [["-oProxyCommand=x"], 0], [["-o", "PROXYCOMMAND x"], 1], [["-qo", "ProxyCommand=x"], 1],
            [["-v"], 0], [["-qv"], 0], [["-o", "LogLevel=DEBUG3"], 1],
            [["-o", "LocalCommand=x"], 1], [["-o", "PermitLocalCommand=yes"], 1], [["-o", "Match exec x"], 1], [["-o", "Include /etc/x"], 1],
            [["-o", "KnownHostsCommand x"], 1], [["-J", "a@b"], 0], [["-Ja@b"], 0], [["-W", "h:22"], 0], [["-L", "1:h:2"], 0], [["-vR1:h:2"], 0],
            [["-D", "1080"], 0], [["-o", "IdentityAgent=/s"], 1], [["-I", "/lib.so"], 0], [["-o", "PKCS11Provider=/lib.so"], 1],
            [["-o", "SecurityKeyProvider=/lib.so"], 1], [["-E", "/log"], 0], [["-S", "/sock"], 0], [["-O", "exit"], 0], [["-M"], 0], [["-f"], 0],
            [["-A"], 0], [["-o", "ForwardAgent=yes"], 1], [["-o", "SendEnv=*"], 1], [["-o", "XAuthLocation=/x"], 1], [["-o", "RemoteCommand=x"], 1],
            [["-o", "HostName=evil"], 1], [["-p", "22"], 0], [["-l", "root"], 0], [["-o", "User=root"], 1], [["-o", "Port=22"], 1],
            [["-o", "StrictHostKeyChecking=no"], 1], [["-o", "ControlPath=/run/x"], 1], [["-o", "ControlPath=~/.ssh/fixed"], 1],
            [["-o", "BatchMode=yes ProxyCommand=x"], 1], [["-o", "BatchMode=\"yes\""], 1], [["-o", "UnknownOption=1"], 1],
            [["-i", "/root/.ssh/id"], 1], [["-i", "~/.ssh/id"], 1],
            [["-F", "/builds/x/config"], 1], [["-Fnone"], 0], [["evil.example.com"], 0], [["--"], 0], [["-"], 0], [[""], 0], [["-o"], 0], [["-q", "-i"], 1],
        ] as const) {
            const problems = sshOptionProblems([...options], paths);
            assert.equal(problems.length, 1, `${options.join(" ")}: ${JSON.stringify(problems)}`);
            assert.equal(problems[0].index, at, options.join(" "));
        }
    });

    it("reads every word after a value-taking flag as its value, never as an option", () => {
        // "-o" takes the next word whatever it looks like: "-A" here is a value, and a bad one.
        assert.deepEqual(refused(["-o", "-A", "-q"]), [1]);
    });
});

describe("the operator's consent", () => {
    it("reads the three variables, and what the operator's own environment already names", () => {
        const consent = operatorConsent({
            DOCKER_HOST: "tcp://10.0.0.1:2376", DOCKER_TLS_VERIFY: "1", DOCKER_CERT_PATH: "/home/ci/.docker/farm", KUBECONFIG: "/etc/kube/a:/etc/kube/b",
            DIND_PROVISIONER_ALLOW_DAEMONS: " unix:///var/run//rootless.sock,ssh://ci@Edge-01 ",
            DIND_PROVISIONER_ALLOW_PATHS: "/etc/dind//certs/:/home/ci/.ssh",
            DIND_PROVISIONER_ALLOW_ENV: "TOKEN, OTHER_TOKEN",
        });
        assert.deepEqual([...consent.daemons].sort(), ["ssh://ci@edge-01:22", "tcp://10.0.0.1:2376", "unix:///run/rootless.sock"]);
        assert.deepEqual(consent.paths, ["/home/ci/.docker/farm", "/etc/kube/a", "/etc/kube/b", "/etc/dind/certs/", "/home/ci/.ssh"]);
        assert.deepEqual([...consent.env], ["TOKEN", "OTHER_TOKEN"]);
        assert.deepEqual(consent.problems, []);
        // The default socket is the runner's daemon when DOCKER_HOST is unset; ~/.kube/config its kubeconfig.
        const bare = operatorConsent({ HOME: "/home/ci" });
        assert.deepEqual([...bare.daemons], ["unix:///run/docker.sock"]);
        assert.deepEqual(bare.paths, ["/home/ci/.kube/config"]);
    });

    it("reports entries that mean nothing, so that an operator's typo is seen", () => {
        const consent = operatorConsent({ HOME: "/h", DIND_PROVISIONER_ALLOW_DAEMONS: "farm-01", DIND_PROVISIONER_ALLOW_PATHS: "relative:/a/../b", DIND_PROVISIONER_ALLOW_ENV: "1BAD" });
        assert.equal(consent.problems.length, 4, consent.problems.join("\n"));
    });

    it("allows a path that is an allowed path or lies below one, after normalizing, and nothing else", () => {
        const consent = operatorConsent({ HOME: "/h", DIND_PROVISIONER_ALLOW_PATHS: "/etc/dind:/var/run/keys" });
        for (const file of ["/etc/dind", "/etc/dind/farm/key.pem", "/etc//dind/./x", "/run/keys/a", "/var/run/keys"]) assert.equal(pathConsentProblem(file, "x", consent), undefined, file);
        for (const file of ["/etc/dind-evil", "/etc", "/etc/dind/../shadow", "~/x", "/etc/dind/$HOME", "/etc/dind/%d", "/etc/dind/a b", "relative"]) {
            assert.ok(pathConsentProblem(file, "x", consent), file);
        }
    });
});
