// The commands the example CI pipelines (docs/examples/ci) run, per job, read from the files
// themselves so that the tests run exactly what the pipelines run.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../../driver/stack";

export const PIPELINES = {
    github: path.join(REPO_ROOT, "docs", "examples", "ci", "github-actions.yml"),
    gitlab: path.join(REPO_ROOT, "docs", "examples", "ci", "gitlab-ci.yml"),
};

/** Job name -> its shell commands: GitHub Actions `steps[].run`, GitLab CI `script`. */
export function pipelineCommands(file: string): Record<string, string[]> {
    const document = parse(readFileSync(file, "utf8"));
    if (document.jobs) {
        return Object.fromEntries(Object.entries(document.jobs as Record<string, { steps: { run?: string }[] }>)
            .map(([job, spec]) => [job, spec.steps.flatMap((step) => (step.run ? [step.run] : []))]));
    }
    return Object.fromEntries(Object.entries(document as Record<string, { script?: string[] }>)
        .filter(([job, spec]) => !job.startsWith(".") && Array.isArray(spec?.script))
        .map(([job, spec]) => [job, spec.script!]));
}
