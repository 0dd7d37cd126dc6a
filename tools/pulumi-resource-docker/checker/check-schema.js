#!/usr/bin/env node
// Checks a generated Pulumi schema (of the bridged `docker` plugin) against the TypeScript
// declarations of the installed npm SDK @pulumi/docker.
//
//   node check-schema.js --schema SCHEMA.json --sdk node_modules/@pulumi/docker [--strict-all] [--quiet]
//
// Strict (a mismatch fails, exit 1): the provider config (ProviderArgs) and the resources
// the project uses, Container, Network, Volume and RemoteImage: every input property name,
// required/optional, primitive kind (string/number/boolean/array/map/object), and the same
// down every nested input type they reference (ContainerPort, ContainerVolume,
// ContainerUpload, ContainerHealthcheck, ContainerNetworksAdvanced, ProviderRegistryAuth...),
// compared with types/input.d.ts. Also strict: every resource / function token the SDK
// declares must be in the schema, except docker:index/image:Image (pulumi-docker's native
// buildx resource, which a bridged Terraform provider does not have).
// Every other resource and function of the SDK is checked the same way but only warned
// about, unless --strict-all.
'use strict';

const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
    const out = { strictAll: false, quiet: false };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--schema') out.schema = argv[++i];
        else if (a === '--sdk') out.sdk = argv[++i];
        else if (a === '--strict-all') out.strictAll = true;
        else if (a === '--quiet') out.quiet = true;
        else throw new Error(`unknown argument ${a}`);
    }
    if (!out.schema || !out.sdk) {
        throw new Error('usage: check-schema.js --schema SCHEMA.json --sdk DIR_OF_@pulumi/docker [--strict-all] [--quiet]');
    }
    return out;
}

const STRICT_RESOURCES = ['Container', 'Network', 'Volume', 'RemoteImage'];
const NOT_PROVIDED = new Set(['docker:index/image:Image']);

function loadTypeScript(sdkDir) {
    const tries = [sdkDir, process.cwd(), __dirname];
    for (const p of tries) {
        try {
            return require(require.resolve('typescript', { paths: [p] }));
        } catch (e) { /* next */ }
    }
    throw new Error('cannot load the `typescript` package (npm devDependency of the project); run npm ci first');
}

// Returns Map<interfaceName, Map<propName, {optional, typeText}>> for one .d.ts file.
function readInterfaces(ts, file) {
    const text = fs.readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const result = new Map();
    const visit = (node) => {
        if (ts.isInterfaceDeclaration(node)) {
            const props = new Map();
            for (const m of node.members) {
                if (!ts.isPropertySignature(m) || !m.name) continue;
                const name = m.name.getText(sf).replace(/^["']|["']$/g, '');
                props.set(name, {
                    optional: !!m.questionToken,
                    typeText: m.type ? m.type.getText(sf).replace(/\s+/g, ' ') : 'any',
                });
            }
            result.set(node.name.text, props);
        }
        ts.forEachChild(node, visit);
    };
    visit(sf);
    return result;
}

// Tokens the SDK declares: resources (`__pulumiType = '...'`) and functions (invoke("...")).
function sdkTokens(sdkDir) {
    const resources = new Map(); // token -> file base
    const functions = new Map();
    const providers = new Set();
    for (const f of fs.readdirSync(sdkDir)) {
        if (!f.endsWith('.js') || f === 'index.js' || f === 'utilities.js') continue;
        const text = fs.readFileSync(path.join(sdkDir, f), 'utf8');
        const base = f.slice(0, -3);
        for (const m of text.matchAll(/__pulumiType = '([^']+)'/g)) {
            // provider.js declares the bare package name; its type is pulumi:providers:<name>.
            if (!m[1].includes(':')) providers.add(m[1]);
            else resources.set(m[1], base);
        }
        for (const m of text.matchAll(/runtime\.(?:invoke(?:Output)?|call)\("([^"]+)"/g)) functions.set(m[1], base);
    }
    return { resources, functions, providers };
}

const REF_PREFIX = '#/types/';

function schemaKind(p) {
    if (p.$ref) {
        if (p.$ref.startsWith(REF_PREFIX)) return { kind: 'object', ref: p.$ref.slice(REF_PREFIX.length) };
        return { kind: 'any' };
    }
    switch (p.type) {
        case 'string': return { kind: 'string' };
        case 'integer':
        case 'number': return { kind: 'number' };
        case 'boolean': return { kind: 'boolean' };
        case 'array': return { kind: 'array', elem: schemaKind(p.items || {}) };
        case 'object':
            if (p.additionalProperties) return { kind: 'map', elem: schemaKind(p.additionalProperties) };
            return { kind: 'any' };
        default: return { kind: 'any' };
    }
}

function describe(k) {
    if (k.kind === 'array') return `${describe(k.elem)}[]`;
    if (k.kind === 'map') return `{[key]: ${describe(k.elem)}}`;
    if (k.kind === 'object') return k.ref.split(':').pop();
    return k.kind;
}

// Strip pulumi.Input<...>, `| undefined` and whitespace from a TS type text.
function unwrapInput(t) {
    t = t.trim();
    for (;;) {
        const m = /^pulumi\.Input<([\s\S]*)>$/.exec(t);
        if (!m) break;
        t = m[1].trim();
    }
    t = t.replace(/\s*\|\s*undefined$/, '').trim();
    return t;
}

// Does the TS type text express the schema kind? Returns the nested input interface name
// referenced (for objects), or throws a string describing the mismatch.
function matchKind(k, tsType) {
    const t = unwrapInput(tsType);
    switch (k.kind) {
        case 'any': return null;
        case 'string': if (t === 'string') return null; break;
        case 'number': if (t === 'number') return null; break;
        case 'boolean': if (t === 'boolean') return null; break;
        case 'array': {
            const m = /^([\s\S]*)\[\]$/.exec(t);
            if (m) return matchKind(k.elem, m[1]);
            break;
        }
        case 'map': {
            const m = /^\{\s*\[key: string\]: ([\s\S]*?);?\s*\}$/.exec(t);
            if (m) return matchKind(k.elem, m[1]);
            break;
        }
        case 'object': {
            const m = /^inputs\.([A-Za-z0-9_.]+)$/.exec(t);
            if (m) return { schemaType: k.ref, tsName: m[1] };
            break;
        }
    }
    throw `type: schema ${describe(k)} vs SDK ${t}`;
}

class Checker {
    constructor(ts, schema, sdkDir) {
        this.ts = ts;
        this.schema = schema;
        this.sdkDir = sdkDir;
        this.inputs = readInterfaces(ts, path.join(sdkDir, 'types', 'input.d.ts'));
        this.fileCache = new Map();
    }

    interfaces(base) {
        if (!this.fileCache.has(base)) {
            this.fileCache.set(base, readInterfaces(this.ts, path.join(this.sdkDir, `${base}.d.ts`)));
        }
        return this.fileCache.get(base);
    }

    // Compare schema properties with a TS interface; recurse into nested input types.
    // `where` names the thing being compared; problems are pushed to `out`.
    compare(where, props, required, tsProps, out, seen, counts) {
        const req = new Set(required || []);
        const names = new Set([...Object.keys(props || {}), ...tsProps.keys()]);
        for (const name of [...names].sort()) {
            const sp = (props || {})[name];
            const tp = tsProps.get(name);
            if (!sp) { out.push(`${where}.${name}: in the SDK, not in the schema`); continue; }
            if (!tp) { out.push(`${where}.${name}: in the schema, not in the SDK`); continue; }
            counts.props++;
            if (req.has(name) === tp.optional) {
                out.push(`${where}.${name}: schema says ${req.has(name) ? 'required' : 'optional'}, SDK says ${tp.optional ? 'optional' : 'required'}`);
            }
            let nested;
            try {
                nested = matchKind(schemaKind(sp), tp.typeText);
            } catch (e) {
                out.push(`${where}.${name}: ${e}`);
                continue;
            }
            if (nested) this.compareType(`${where}.${name}`, nested, out, seen, counts);
        }
    }

    compareType(where, nested, out, seen, counts) {
        const { schemaType, tsName } = nested;
        const schemaName = schemaType.split(':').pop();
        // The nodejs code generator upper-cases the first letter of type names
        // (getFooBar's nested types become GetFooBar...).
        if (schemaName.charAt(0).toUpperCase() + schemaName.slice(1) !== tsName) {
            out.push(`${where}: nested type is ${schemaName} in the schema, ${tsName} in the SDK`);
        }
        const key = `${schemaType}|${tsName}`;
        if (seen.has(key)) return;
        seen.add(key);
        const st = (this.schema.types || {})[schemaType];
        const tt = this.inputs.get(tsName);
        if (!st) { out.push(`${where}: schema type ${schemaType} missing`); return; }
        if (!tt) { out.push(`${where}: SDK input type ${tsName} missing from types/input.d.ts`); return; }
        counts.types++;
        this.compare(tsName, st.properties, st.required, tt, out, seen, counts);
    }

    checkResource(token, base, out, counts) {
        const res = (this.schema.resources || {})[token];
        const name = token.split(':').pop();
        const iface = this.interfaces(base).get(`${name}Args`);
        if (!res) { out.push(`${token}: resource missing from the schema`); return; }
        if (!iface) { out.push(`${token}: ${name}Args not found in ${base}.d.ts`); return; }
        counts.resources++;
        this.compare(name, res.inputProperties, res.requiredInputs, iface, out, new Set(), counts);
    }

    checkFunction(token, base, out, counts) {
        const fn = (this.schema.functions || {})[token];
        // invoke tokens are docker:index/getFoo:getFoo; method (call) tokens are
        // pulumi:providers:docker/terraformConfig.
        const name = token.split(/[:/]/).pop();
        const argsName = name.charAt(0).toUpperCase() + name.slice(1) + 'Args';
        const iface = this.interfaces(base).get(argsName) || new Map();
        if (!fn) { out.push(`${token}: function missing from the schema`); return; }
        counts.functions++;
        const inputs = fn.inputs || {};
        this.compare(name, inputs.properties, inputs.required, iface, out, new Set(), counts);
    }

    checkProvider(out, counts) {
        const prov = this.schema.provider || {};
        const iface = this.interfaces('provider').get('ProviderArgs');
        if (!iface) { out.push('ProviderArgs not found in provider.d.ts'); return; }
        counts.resources++;
        this.compare('Provider', prov.inputProperties, prov.requiredInputs, iface, out, new Set(), counts);
    }
}

function main() {
    const args = parseArgs(process.argv);
    const sdkDir = path.resolve(args.sdk);
    const schema = JSON.parse(fs.readFileSync(args.schema, 'utf8'));
    const ts = loadTypeScript(sdkDir);
    const sdkPkg = JSON.parse(fs.readFileSync(path.join(sdkDir, 'package.json'), 'utf8'));
    const c = new Checker(ts, schema, sdkDir);

    const errors = [];
    const warnings = [];
    const strictCounts = { resources: 0, functions: 0, types: 0, props: 0 };
    const otherCounts = { resources: 0, functions: 0, types: 0, props: 0 };

    if (schema.name !== 'docker') errors.push(`schema name is ${schema.name}, want docker`);

    const { resources, functions, providers } = sdkTokens(sdkDir);
    if (!providers.has(schema.name)) errors.push(`SDK provider.js declares package ${[...providers].join(', ')}, schema is ${schema.name}`);
    c.checkProvider(errors, strictCounts);
    for (const name of STRICT_RESOURCES) {
        const token = [...resources.keys()].find((t) => t.endsWith(`:${name}`) && t.startsWith('docker:index/'));
        if (!token) { errors.push(`SDK declares no resource ${name}`); continue; }
        c.checkResource(token, resources.get(token), errors, strictCounts);
    }

    const others = args.strictAll ? errors : warnings;
    const skipped = [];
    for (const [token, base] of [...resources].sort()) {
        if (NOT_PROVIDED.has(token)) { skipped.push(token); continue; }
        if (STRICT_RESOURCES.some((n) => token.endsWith(`:${n}`))) continue;
        if (!(schema.resources || {})[token]) { errors.push(`${token}: resource missing from the schema`); continue; }
        c.checkResource(token, base, others, otherCounts);
    }
    for (const [token, base] of [...functions].sort()) {
        if (!(schema.functions || {})[token]) { errors.push(`${token}: function missing from the schema`); continue; }
        if (token.startsWith('pulumi:providers:')) continue; // provider method, no input args
        c.checkFunction(token, base, others, otherCounts);
    }
    const sdkTokenSet = new Set([...resources.keys(), ...functions.keys()]);
    const extra = [...Object.keys(schema.resources || {}), ...Object.keys(schema.functions || {})]
        .filter((t) => !sdkTokenSet.has(t)).sort();

    const log = (s) => process.stdout.write(s + '\n');
    log(`check-schema: @pulumi/docker ${sdkPkg.version} (plugin ${sdkPkg.pulumi && sdkPkg.pulumi.version}) vs schema ${schema.name} ${schema.version || ''}`.trim());
    log(`  strict: Provider + ${STRICT_RESOURCES.join(', ')}: ${strictCounts.props} properties in ${strictCounts.resources} resources and ${strictCounts.types} nested input types compared`);
    log(`  others: ${otherCounts.resources} resources + ${otherCounts.functions} functions, ${otherCounts.props} properties, ${otherCounts.types} nested types compared (${args.strictAll ? 'strict' : 'warnings only'})`);
    log(`  SDK tokens: ${resources.size} resources, ${functions.size} functions; not provided by this plugin: ${skipped.join(', ') || 'none'}`);
    if (extra.length) log(`  schema tokens not in the SDK: ${extra.join(', ')}`);
    if (warnings.length) {
        log(`  ${warnings.length} warning(s) outside the strict set:`);
        for (const w of (args.quiet ? warnings.slice(0, 5) : warnings)) log(`    warn: ${w}`);
        if (args.quiet && warnings.length > 5) log(`    ... (${warnings.length - 5} more)`);
    }
    if (errors.length) {
        log(`FAIL: ${errors.length} mismatch(es):`);
        for (const e of errors) log(`  ${e}`);
        process.exit(1);
    }
    log('OK: names, required-ness and kinds of the strict set match the SDK');
}

try {
    main();
} catch (e) {
    process.stderr.write(`check-schema: ${e && e.stack ? e.stack : e}\n`);
    process.exit(2);
}
