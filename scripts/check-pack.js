#!/usr/bin/env node
// Asserts that `npm pack` ships exactly what users need: the compiled library
// (lib/**/*.js with jsii's inline source maps, and lib/**/*.d.ts) for every
// source file and nothing stale, the jsii assembly `.jsii`, `API.md`,
// `README.md`, `LICENSE` and `package.json`; no sources, tests, app, config,
// build caches or cloud assemblies; no `@internal` member in the declarations,
// which still compile for a consumer. Run after `npm run build`.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const faults = [];

let packed;
try {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  packed = JSON.parse(out)[0];
} catch (e) {
  console.error(`check-pack: npm pack --dry-run failed: ${e.message}`);
  process.exit(1);
}
const files = packed.files.map((f) => f.path).sort();
const shipped = new Set(files);

// Everything in the tarball must be one of these.
const allowed = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^\.jsii$/,
  /^API\.md$/,
  /^lib\/(?:[\w.-]+\/)*[\w.-]+\.js$/,
  /^lib\/(?:[\w.-]+\/)*[\w.-]+\.d\.ts$/,
];
for (const file of files) {
  if (!allowed.some((re) => re.test(file))) {
    faults.push(`ships ${file}, which users do not need`);
  }
}

for (const file of ['package.json', 'README.md', 'LICENSE', '.jsii', 'API.md']) {
  if (!shipped.has(file)) {
    faults.push(`does not ship ${file}`);
  }
}

// package.json's entry points.
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const field of ['main', 'types']) {
  const target = pkg[field] && path.posix.normalize(pkg[field]);
  if (!target || !shipped.has(target)) {
    faults.push(`package.json \`${field}\` (${pkg[field]}) is not in the tarball`);
  }
}

// Each library source compiles to a shipped .js and .d.ts; each shipped .js has a source (nothing stale).
function sources(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      return sources(rel);
    }
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}
const libSources = new Set(sources('lib'));
for (const src of libSources) {
  const base = src.slice(0, -'.ts'.length);
  for (const out of [`${base}.js`, `${base}.d.ts`]) {
    if (!shipped.has(out)) {
      faults.push(`does not ship ${out} (compiled from ${src}; run \`npm run build\` first)`);
    }
  }
}
for (const file of files.filter((f) => f.startsWith('lib/') && f.endsWith('.js'))) {
  if (!libSources.has(file.replace(/\.js$/, '.ts'))) {
    faults.push(`ships ${file}, which has no source in lib/ (stale build output)`);
  }
}

// Test-only dependencies are never shipped: not as a dependency of any kind, and no
// shipped file loads them. @cloud-copilot/iam-simulate (AGPL-3.0) evaluates the
// grants in the tests only.
const TEST_ONLY = ['@cloud-copilot/'];
for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies', 'bundledDependencies']) {
  const names = Array.isArray(pkg[field]) ? pkg[field] : Object.keys(pkg[field] ?? {});
  for (const name of names.filter((n) => TEST_ONLY.some((p) => n.startsWith(p)))) {
    faults.push(`package.json \`${field}\` names the test-only ${name}`);
  }
}
for (const file of files.filter((f) => /\.(js|ts)$/.test(f))) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const hit = TEST_ONLY.find((p) => text.includes(p));
  if (hit) faults.push(`${file} refers to the test-only ${hit}* packages`);
}

// Members marked `@internal` are not part of the API (jsii leaves them out of
// .jsii, and so of every other language); the TypeScript declarations must not
// offer them either. `npm run compile` strips them (tsconfig.dts.json).
for (const file of files.filter((f) => f.endsWith('.d.ts'))) {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (/@internal\b/.test(line)) {
      const member = lines.slice(i + 1).find((l) => !/^\s*(\/\*\*|\*)/.test(l));
      faults.push(`ships ${file}:${i + 1}, which declares the @internal member \`${(member ?? '').trim()}\``);
    }
  });
}
// ... and what is left must still compile for a consumer (a stripped type that
// a kept declaration names would break it).
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--ignoreConfig', '--noEmit', '--strict',
    '--module', 'node20', '--target', 'es2023', '--lib', 'es2023', '--types', 'node', pkg.types], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
} catch (e) {
  faults.push(`ships declarations that do not compile for a consumer (tsc ${pkg.types}):\n${String(e.stdout || e.message).trim()}`);
}

// jsii compiles with inline source maps (tsconfig: inlineSourceMap, inlineSources);
// separate .map files would be unintended.
const withInlineMap = files.filter((f) => f.endsWith('.js')
  && fs.readFileSync(path.join(root, f), 'utf8').includes('//# sourceMappingURL=data:application/json;base64,'));

if (faults.length > 0) {
  console.error(`check-pack: the npm tarball is wrong:\n${faults.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`check-pack: ${packed.filename}: ${files.length} files, ${kib(packed.size)} packed, ${kib(packed.unpackedSize)} unpacked`
  + ` (${withInlineMap.length} of ${files.filter((f) => f.endsWith('.js')).length} .js files carry jsii's inline source map)`);
