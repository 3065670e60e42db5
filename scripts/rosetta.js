#!/usr/bin/env node
// Compiles every TypeScript example of the documentation with `jsii-rosetta extract
// --strict` and the fixtures in rosetta/: the README's and the API docs' (from .jsii,
// into the tablet .jsii.tabl.json that `npm run pacmak` translates them from), and the
// guides' in docs/. One rosetta run does both, so its TypeScript compilers and the
// aws-cdk-lib declarations they read start once.
//
// rosetta reads examples from an assembly only, so this writes a second assembly: a copy
// of .jsii whose README is empty, whose types carry no examples (the first assembly has
// those), and which has one submodule per guide holding the guide as its README, into
// node_modules/.cache/doc-examples/ (with package.json, rosetta/ and lib/ beside it, so
// the examples import 'cdk-terraform-state-backend' as users do). A failure in a guide
// names the guide and line: `docs/construct.md:42`.
//
// Usage: node scripts/rosetta.js   (after `npm run build`: it reads .jsii and lib/)
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const dir = path.join(root, 'node_modules', '.cache', 'doc-examples');
const guides = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort();

const assembly = JSON.parse(fs.readFileSync(path.join(root, '.jsii'), 'utf8'));
const submodule = (guide) => `${assembly.name}.docs_${guide.replace(/\.md$/, '').replace(/[^A-Za-z0-9]/g, '_')}`;
assembly.readme = { markdown: '# The guides in docs/\n' };
for (const type of Object.values(assembly.types ?? {})) {
  if (type.docs) delete type.docs.example;
  for (const member of [...(type.methods ?? []), ...(type.properties ?? [])]) {
    if (member.docs) delete member.docs.example;
  }
}
assembly.submodules = { ...(assembly.submodules ?? {}) };
let examples = 0;
for (const guide of guides) {
  const markdown = fs.readFileSync(path.join(root, 'docs', guide), 'utf8');
  examples += (markdown.match(/^\s*```(ts|typescript)\b/gm) ?? []).length;
  assembly.submodules[submodule(guide)] = { readme: { markdown } };
}
delete assembly.fingerprint;

fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, '.jsii'), JSON.stringify(assembly));
fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
fs.cpSync(path.join(root, 'rosetta'), path.join(dir, 'rosetta'), { recursive: true });
fs.symlinkSync(path.join(root, 'lib'), path.join(dir, 'lib'), 'dir');

const rosetta = path.join(root, 'node_modules', '.bin', 'jsii-rosetta');
const result = spawnSync(rosetta, ['extract', '--strict', '--batch', '1000', path.join(root, '.jsii'), path.join(dir, '.jsii')], { cwd: root, encoding: 'utf8' });
let output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
for (const guide of guides) {
  const name = submodule(guide).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  output = output.replace(new RegExp(`${name}-README-L(\\d+)(\\.ts)?`, 'g'), (_m, line) => `docs/${guide}:${line}`);
}
output = output.replace(new RegExp(`${assembly.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-README-L(\\d+)(\\.ts)?`, 'g'), (_m, line) => `README.md:${line}`);
if (result.error) throw result.error;
if (result.status !== 0) {
  process.stderr.write(output);
  process.stderr.write(`rosetta: the TypeScript examples of README.md, the API docs and docs/*.md do not all compile (see above)\n`);
  process.exit(result.status ?? 1);
}
process.stdout.write(output);
process.stdout.write(`rosetta: the examples of README.md and the API docs, and the ${examples} TypeScript examples of ${guides.length} guides in docs/, compile (jsii-rosetta --strict)\n`);
