#!/usr/bin/env node
// `node commands/bundled.js [--bundle-packages] ENTRY.ts [ARGS...]`: runs a command of this
// repository from an esbuild bundle, so it starts without compiling TypeScript (ts-node took
// 1.2 s more than the bundle to load the driver, on every `npm run up` or `preview`). The bundle's
// name is a hash of every file it was built from (listed in a manifest beside it) and of where the
// repository is; when any of them changes the hash does too and the bundle is rebuilt, so stale
// code cannot run. Packages stay outside the bundle unless --bundle-packages (the Pulumi SDK must
// be the one instance the engine's language host loads); `npm run validate` bundles its two (zod,
// yaml) too, to start faster.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "dind-provisioner");

/** A hash of the files `inputs` (paths relative to the repository) and of the repository's place. */
function hashOf(inputs) {
    const hash = createHash("sha256").update(`${root}\0`);
    for (const input of inputs) hash.update(`${input}\0`).update(fs.readFileSync(path.join(root, input))).update("\0");
    return hash.digest("hex").slice(0, 20);
}

/** The file names of ENTRY's bundle and manifest ("commands/up.ts" -> "commands-up"). */
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
 * The bundle lives in a cache directory, so each file's `__dirname` becomes the directory the file
 * is in. (`require.main === module`, the guard a command ends with, holds only in the entry: the
 * layering test keeps a command from importing another command.)
 */
const ownDirname = {
    name: "own-dirname",
    setup(esbuild) {
        esbuild.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: fs.readFileSync(args.path, "utf8").replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path))),
            loader: "ts",
        }));
    },
};

async function build(entry, packages) {
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
        // Error classes report their own names (UserError's subclasses take theirs from the class).
        keepNames: true,
        plugins: [ownDirname],
    });
    const inputs = Object.keys(result.metafile.inputs).sort();
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
    const bundlePackages = process.argv[2] === "--bundle-packages";
    const [entry, ...args] = process.argv.slice(bundlePackages ? 3 : 2);
    if (!entry) {
        console.error("usage: bundled.js [--bundle-packages] ENTRY.ts [ARGS...]");
        process.exit(2);
    }
    bundleOf(path.normalize(entry), bundlePackages ? "bundle" : "external").then((bundle) => {
        // Run as the main module, as `ts-node ENTRY.ts` runs it.
        process.argv = [process.argv[0], bundle, ...args];
        Module.runMain();
    }, (error) => {
        console.error(error.message);
        process.exit(1);
    });
}
