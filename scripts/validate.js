#!/usr/bin/env node
// `npm run validate`: runs stackfile/cli.ts from an esbuild bundle, so start-up compiles no
// TypeScript. The bundle's name is a hash of every file it was built from (listed in a manifest
// beside it); when any of them changes the hash does too and the bundle is rebuilt, so stale code
// cannot run.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "dind-provisioner");
const manifestFile = path.join(cacheDir, "validate.manifest.json");

/** A hash of the files `inputs` (paths relative to the repository). */
function hashOf(inputs) {
    const hash = createHash("sha256");
    for (const input of inputs) hash.update(`${input}\0`).update(fs.readFileSync(path.join(root, input))).update("\0");
    return hash.digest("hex").slice(0, 20);
}

/** The bundle built from the sources as they are now, if there is one. */
function currentBundle() {
    try {
        const { inputs } = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
        const bundle = path.join(cacheDir, `validate-${hashOf(inputs)}.js`);
        return fs.existsSync(bundle) ? bundle : undefined;
    } catch {
        return undefined; // no manifest yet, or an input is gone: build again
    }
}

function build() {
    const result = require("esbuild").buildSync({
        absWorkingDir: root,
        entryPoints: ["stackfile/cli.ts"],
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        metafile: true,
        write: false,
        logLevel: "error",
    });
    const inputs = Object.keys(result.metafile.inputs).sort();
    const bundle = path.join(cacheDir, `validate-${hashOf(inputs)}.js`);
    fs.mkdirSync(cacheDir, { recursive: true });
    // Written under temporary names and renamed, so a concurrent run never reads half a file.
    const temporary = `${bundle}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, result.outputFiles[0].contents);
    fs.renameSync(temporary, bundle);
    fs.writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify({ inputs }));
    fs.renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
    for (const old of fs.readdirSync(cacheDir)) {
        if (/^validate-[0-9a-f]+\.js$/.test(old) && path.join(cacheDir, old) !== bundle) fs.rmSync(path.join(cacheDir, old), { force: true });
    }
    return bundle;
}

require(currentBundle() ?? build());
