#!/usr/bin/env node
// `node scripts/bundled.js ENTRY.ts [ARGS...]`: runs a TypeScript entry point of this repository
// from an esbuild bundle, so a command starts without compiling TypeScript (ts-node took 1.2 s
// more than the bundle to load the driver, on every `npm run up` or `preview`). The bundle's name
// is a hash of every file it was built from (listed in a manifest beside it); when any of them
// changes the hash does too and the bundle is rebuilt, so stale code cannot run. Packages stay
// outside the bundle unless asked (the Pulumi SDK must be the one instance the engine's language
// host loads); `npm run validate` bundles its two (zod, yaml) too, to start faster.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "dind-provisioner");

/** A hash of the files `inputs` (paths relative to the repository). */
function hashOf(inputs) {
    const hash = createHash("sha256");
    for (const input of inputs) hash.update(`${input}\0`).update(fs.readFileSync(path.join(root, input))).update("\0");
    return hash.digest("hex").slice(0, 20);
}

/** The file names of ENTRY's bundle and manifest ("scripts/pulumi-stack.ts" -> "scripts-pulumi-stack"). */
function namesOf(entry) {
    const name = entry.replace(/\.ts$/, "").split(/[\\/]/).join("-");
    return { prefix: `${name}-`, manifest: path.join(cacheDir, `${name}.manifest.json`) };
}

/** The bundle built from the sources as they are now, if there is one. */
function currentBundle(entry) {
    const { prefix, manifest } = namesOf(entry);
    try {
        const { inputs } = JSON.parse(fs.readFileSync(manifest, "utf8"));
        const bundle = path.join(cacheDir, `${prefix}${hashOf(inputs)}.js`);
        return fs.existsSync(bundle) ? bundle : undefined;
    } catch {
        return undefined; // no manifest yet, or an input is gone: build again
    }
}

/**
 * In a bundle every file shares the bundle's `module`, so `require.main === module`, the guard
 * each runnable script ends with, would hold in all of them: each file's guard becomes "is this
 * file the entry".
 */
function entryGuards(entry) {
    return {
        name: "entry-guards",
        setup(esbuild) {
            esbuild.onLoad({ filter: /\.ts$/ }, (args) => {
                const file = path.relative(root, args.path);
                const text = fs.readFileSync(args.path, "utf8").replace(/\brequire\.main === module\b/g, `${JSON.stringify(file === entry)}`);
                return { contents: text, loader: "ts" };
            });
        },
    };
}

async function build(entry, packages) {
    const entryDir = path.dirname(path.join(root, entry));
    const result = await require("esbuild").build({
        absWorkingDir: root,
        entryPoints: [entry],
        bundle: true,
        packages,
        platform: "node",
        target: "node20",
        format: "cjs",
        metafile: true,
        write: false,
        logLevel: "error",
        // The bundle lives in the cache: __dirname keeps meaning the entry's own directory.
        define: { __dirname: JSON.stringify(entryDir) },
        plugins: [entryGuards(entry)],
    });
    const inputs = Object.keys(result.metafile.inputs).sort();
    // That definition holds for every bundled file, so only the entry's directory may use __dirname.
    const elsewhere = inputs.filter((input) => path.dirname(path.join(root, input)) !== entryDir
        && /\b__dirname\b/.test(fs.readFileSync(path.join(root, input), "utf8")));
    if (elsewhere.length) throw new Error(`cannot bundle ${entry}: ${elsewhere.join(", ")} use __dirname outside ${path.relative(root, entryDir)}/`);
    const { prefix, manifest } = namesOf(entry);
    const bundle = path.join(cacheDir, `${prefix}${hashOf(inputs)}.js`);
    fs.mkdirSync(cacheDir, { recursive: true });
    // Written under temporary names and renamed, so a concurrent run never reads half a file.
    const temporary = `${bundle}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, result.outputFiles[0].contents);
    fs.renameSync(temporary, bundle);
    fs.writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify({ inputs }));
    fs.renameSync(`${manifest}.${process.pid}.tmp`, manifest);
    for (const old of fs.readdirSync(cacheDir)) {
        if (old.startsWith(prefix) && /^[0-9a-f]+\.js$/.test(old.slice(prefix.length)) && path.join(cacheDir, old) !== bundle) {
            fs.rmSync(path.join(cacheDir, old), { force: true });
        }
    }
    return bundle;
}

/**
 * The path of ENTRY's up-to-date bundle, built when there is none. `packages`: "external" (the
 * default) leaves node_modules to be required at run time, "bundle" takes them in.
 */
async function bundleOf(entry, packages = "external") {
    return currentBundle(entry) ?? build(entry, packages === "bundle" ? undefined : "external");
}

if (require.main === module) {
    const [entry, ...args] = process.argv.slice(2);
    if (!entry) {
        console.error("usage: bundled.js ENTRY.ts [ARGS...]");
        process.exit(2);
    }
    bundleOf(path.normalize(entry)).then((bundle) => {
        // Run as the main module, as `ts-node ENTRY.ts` runs it.
        process.argv = [process.argv[0], bundle, ...args];
        Module.runMain();
    }, (error) => {
        console.error(error.message);
        process.exit(1);
    });
}

module.exports = { bundleOf };
