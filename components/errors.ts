// The base of every error a user should read: its message says what is wrong and what to do, so
// every entry point (the commands, `validate`, the Pulumi program) reports it as it is, without a
// stack trace; a stack trace is for bugs. Components report a user's mistake in their arguments as
// `pulumi.ResourceError` instead, naming the resource, as Pulumi's own components do.
export class UserError extends Error {
    /** The exit code of a command that ends with this error. */
    readonly exitCode: number = 1;

    constructor(message: string) {
        super(message);
        this.name = new.target.name;
    }
}
