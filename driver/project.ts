// The Pulumi project every stack of this tool belongs to, and how its objects name their stack
// (STACK_LABEL's value). Apart from stack.ts, which loads the Automation API: the commands that
// must start fast (lease, release) name a stack's objects without loading it.
export const PROJECT_NAME = "dind-provisioner";

/** STACK_LABEL's value on a stack's outer objects: "<project>/<stack>", as the program sets it. */
export function stackLabelValue(stackName: string): string {
    return `${PROJECT_NAME}/${stackName}`;
}
