// The CommonJS build beside the ESM one, for require('localmq') (jest without
// --experimental-vm-modules, older tooling): tsc with module CommonJS into <outDir>
// (default cjs/ at the package root: the same depth as dist/, so paths a module finds
// relative to itself, e.g. ../../package.json, hold in both builds), and a package.json
// there so Node reads those .js files as CommonJS. `import.meta.url` (which tsc leaves as
// it is, with error TS1343) becomes the CommonJS file's own URL.
// Usage: node scripts/build-cjs.mjs [outDir]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'cjs'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.cjs.json'), '--outDir', outDir], { encoding: 'utf8' });
const errors = `${run.stdout}${run.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l));
const real = errors.filter((l) => !l.includes('error TS1343'));
if (real.length || (run.status !== 0 && errors.length === 0)) {
  process.stderr.write(`${run.stdout}${run.stderr}`);
  process.exit(run.status || 1);
}

const IMPORT_META_URL = /\bimport\.meta\.url\b/g;
const OWN_URL = 'require("node:url").pathToFileURL(__filename).href';
const leftovers = [];
for (const file of jsFiles(outDir)) {
  const text = readFileSync(file, 'utf8');
  if (!text.includes('import.meta')) continue;
  const rewritten = text.replace(IMPORT_META_URL, OWN_URL);
  if (rewritten.includes('import.meta')) leftovers.push(file);
  writeFileSync(file, rewritten);
}
if (leftovers.length) {
  process.stderr.write(`import.meta other than import.meta.url has no CommonJS equivalent here: ${leftovers.join(', ')}\n`);
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');

function* jsFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(path);
    else if (entry.name.endsWith('.js')) yield path;
  }
}
