// The operator's consent for a suite's stack files (docs/security-trust-model.md): the real lane's
// stacks name daemons, files and variables that only the operator may allow, as a CI system would
// through its protected variables. The program and the driver read it from the environment.

/** Sets DIND_PROVISIONER_ALLOW_* (and any other variable given) for this process and its children; returns what undoes it. */
export function allowForSuite(variables: Record<string, string>): () => void {
    const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
    Object.assign(process.env, variables);
    return () => {
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) delete process.env[name];
            else process.env[name] = value;
        }
    };
}
