#!/usr/bin/env node
// `npm run validate`: runs stackfile/cli.ts from an esbuild bundle (see bundled.js), so start-up
// compiles no TypeScript and loads no package files one by one.
"use strict";
require("./bundled").bundleOf("stackfile/cli.ts", "bundle").then(require, (error) => {
    console.error(error.message);
    process.exit(1);
});
