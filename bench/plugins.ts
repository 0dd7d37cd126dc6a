// The two docker plugins a benchmark run compares: the one this project builds (the upstream with
// the project's patches, toolchain/modules/pulumi-resource-docker/patches) and the same upstream
// commit built without them. Each is copied into the run's own directory and checked by the
// version it reports, so that nothing another build installs meanwhile changes what a side
// measures; the stacks name that directory in their project file, and every cold up checks which
// binaries the engine ran.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { descendantExecutables } from "./memory";

const REPO = path.resolve(__dirname, "..");
const BUILD = path.join(REPO, "toolchain", "steps", "pulumi-docker-plugin.sh");
export const DOCKER_PLUGIN = "pulumi-resource-docker";

/** The plugins a run compares: `patched` is the plugin as this project builds and installs it. */
export const VARIANTS = ["patched", "withoutPatches"] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABELS: Record<Variant, string> = {
    patched: "as built here (with the project's patches)",
    withoutPatches: "upstream as served (without the patches)",
};

export interface DockerPlugin {
    variant: Variant;
    /** The version the binary reports (`-version`). */
    version: string;
    /** The directory the stacks run it from; it holds only the binary. */
    dir: string;
    binary: string;
}

/** The plugin version @pulumi/docker asks for. */
export function sdkPluginVersion(): string {
    const pkg = JSON.parse(readFileSync(path.join(REPO, "node_modules", "@pulumi", "docker", "package.json"), "utf8"));
    return String(pkg.pulumi.version).replace(/^v/, "");
}

/**
 * Checks a plugin's reported version against its variant: the patched build reports the SDK's
 * version with build metadata (5.2.0+dind.1), the build without patches exactly the SDK's.
 */
export function checkVariantVersion(variant: Variant, version: string, sdkVersion: string): void {
    const ok = variant === "patched" ? version.startsWith(`${sdkVersion}+`) : version === sdkVersion;
    if (!ok) {
        const want = variant === "patched" ? `${sdkVersion}+<suffix>` : sdkVersion;
        throw new Error(`the docker plugin for "${VARIANT_LABELS[variant]}" reports version ${version}, expected ${want}: ` +
            (variant === "patched" ? "is an official plugin installed instead of this project's build?" : "is it the patched build?"));
    }
}

/** Builds (when needed) the variant's plugin with the project's build script and returns the built binary's path. */
function buildPlugin(variant: Variant): string {
    const args = [BUILD, "--print-path", ...(variant === "withoutPatches" ? ["--without-patches"] : [])];
    const result = spawnSync("bash", args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (result.status !== 0) throw new Error(`${args.slice(1).join(" ")} failed (exit ${result.status})`);
    return result.stdout.trim();
}

/** Each variant's plugin, copied into `dir/<variant>/` and checked. */
export function preparePlugins(dir: string): Record<Variant, DockerPlugin> {
    const sdkVersion = sdkPluginVersion();
    const prepare = (variant: Variant): DockerPlugin => {
        const pluginDir = path.join(dir, variant);
        mkdirSync(pluginDir, { recursive: true });
        const binary = path.join(pluginDir, DOCKER_PLUGIN);
        copyFileSync(buildPlugin(variant), binary);
        const version = spawnSync(binary, ["-version"], { encoding: "utf8" }).stdout.trim();
        checkVariantVersion(variant, version, sdkVersion);
        return { variant, version, dir: pluginDir, binary: realpathSync(binary) };
    };
    return { patched: prepare("patched"), withoutPatches: prepare("withoutPatches") };
}

/**
 * Fails unless every docker plugin running below this process is the given binary, and at least
 * one runs: called while a cold up runs, it shows the engine used the plugin the side names.
 */
export function assertRunningPlugin(plugin: DockerPlugin, root = process.pid, proc = "/proc"): void {
    const running = descendantExecutables(root, proc).filter((exe) => path.basename(exe) === DOCKER_PLUGIN);
    const others = running.filter((exe) => exe !== plugin.binary);
    if (!running.length || others.length) {
        throw new Error(`expected the engine to run only ${plugin.binary} (${VARIANT_LABELS[plugin.variant]}); ` +
            `it runs ${running.length ? [...new Set(running)].join(", ") : "no docker plugin"}`);
    }
}
