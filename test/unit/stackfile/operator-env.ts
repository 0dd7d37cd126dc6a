// The runner's environment a fixture is validated in: none, or what the `.env` file beside it says.
import { existsSync, readFileSync } from "node:fs";

/**
 * KEY=VALUE lines of `<fixture>.env` (# starts a comment): the operator's consent
 * (DIND_PROVISIONER_ALLOW_*) and variables such as DOCKER_HOST. A fixture without one gets none.
 */
export function operatorEnv(fixture: string): NodeJS.ProcessEnv {
    const file = fixture.replace(/\.ya?ml$/, ".env");
    if (file === fixture || !existsSync(file)) return {};
    return Object.fromEntries(readFileSync(file, "utf8").split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}
