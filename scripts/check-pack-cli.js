#!/usr/bin/env node
// Asserts that the CLI package's tarball (`npm pack -w cli`) ships what `tfstate-ops`
// needs and nothing else: package.json, README.md, LICENSE, the executable
// bin/tfstate-ops.js, cli/dist/*.js + *.d.ts compiled from every cli/src/*.ts, and
// templates/: the backend's CloudFormation templates and index.json, byte for byte the
// repository's templates/ (`bootstrap` deploys them). It packs for real and reads the
// tarball's files. Run after `npm run build:cli`.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'cli');
const faults = [];

let packed;
const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'check-pack-cli-'));
process.on('exit', () => fs.rmSync(unpacked, { recursive: true, force: true }));
try {
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '-w', 'cli', '--pack-destination', unpacked], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  packed = JSON.parse(out)[0];
  execFileSync('tar', ['-xzf', path.join(unpacked, packed.filename), '-C', unpacked]);
} catch (e) {
  console.error(`check-pack-cli: npm pack -w cli failed: ${e.message}`);
  process.exit(1);
}
const files = new Map(packed.files.map((f) => [f.path, f]));

const sources = fs.readdirSync(path.join(cli, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const templates = fs.readdirSync(path.join(root, 'templates')).filter((f) => f.endsWith('.template.json') || f === 'index.json');
const expected = new Set(['package.json', 'README.md', 'LICENSE', 'bin/tfstate-ops.js',
  ...sources.flatMap((f) => [`dist/${f.replace(/\.ts$/, '.js')}`, `dist/${f.replace(/\.ts$/, '.d.ts')}`]),
  ...templates.map((f) => `templates/${f}`)]);
for (const file of files.keys()) {
  if (!expected.has(file)) {
    faults.push(`ships ${file}, which is not the CLI's (stale build output, a test or a source?)`);
  }
}
for (const file of expected) {
  if (!files.has(file)) {
    faults.push(`does not ship ${file}${/^(dist|templates)\//.test(file) ? ' (run `npm run build:cli` first)' : ''}`);
  }
}
// The templates bootstrap deploys are the repository's, byte for byte (the build copies them).
for (const f of templates) {
  const shipped = path.join(unpacked, 'package', 'templates', f);
  if (fs.existsSync(shipped) && !fs.readFileSync(shipped).equals(fs.readFileSync(path.join(root, 'templates', f)))) {
    faults.push(`ships templates/${f}, which differs from the repository's templates/${f} (run \`npm run build:cli\` after \`npm run templates\`)`);
  }
}
const bin = files.get('bin/tfstate-ops.js');
if (bin && (bin.mode & 0o111) === 0) {
  faults.push('bin/tfstate-ops.js is not executable');
}
if (!fs.readFileSync(path.join(cli, 'bin', 'tfstate-ops.js'), 'utf8').startsWith('#!/usr/bin/env node\n')) {
  faults.push('bin/tfstate-ops.js does not start with #!/usr/bin/env node');
}
const pkg = JSON.parse(fs.readFileSync(path.join(cli, 'package.json'), 'utf8'));
const deps = Object.keys(pkg.dependencies ?? {}).sort().join(', ');
if (deps !== '@aws-sdk/client-cloudformation, @aws-sdk/client-dynamodb, @aws-sdk/client-organizations, @aws-sdk/client-s3, @aws-sdk/client-ssm, @aws-sdk/client-sts') {
  faults.push(`depends on ${deps}; expected exactly the AWS SDK's CloudFormation, DynamoDB, Organizations, S3, SSM and STS clients`);
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
for (const file of [...files.keys()].filter((f) => /\.(js|ts)$/.test(f))) {
  const text = fs.readFileSync(path.join(unpacked, 'package', file), 'utf8');
  const hit = TEST_ONLY.find((p) => text.includes(p));
  if (hit) faults.push(`${file} refers to the test-only ${hit}* packages`);
}

if (faults.length > 0) {
  console.error(`check-pack-cli: the CLI's npm tarball is wrong:\n${faults.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}
console.log(`check-pack-cli: ${packed.filename}: ${files.size} files, ${(packed.size / 1024).toFixed(0)} KiB packed`);
