#!/usr/bin/env node
// The CLI package ships the backend's CloudFormation templates (for `tfstate-ops bootstrap`):
// the build copies the repository's generated ../templates (*.template.json and index.json;
// the landing-zone entries are not the CLI's) into cli/templates, fresh on every build.
// cli/templates is not committed; ../scripts/check-pack-cli.js proves the tarball holds
// exactly these files, byte for byte equal to ../templates.
const fs = require('fs');
const path = require('path');

const from = path.join(__dirname, '..', '..', 'templates');
const to = path.join(__dirname, '..', 'templates');
fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to);
const files = fs.readdirSync(from).filter((f) => f.endsWith('.template.json') || f === 'index.json');
if (!files.includes('index.json')) {
  console.error(`copy-templates: ${from} has no index.json: run \`npm run templates\` at the repository's root`);
  process.exit(1);
}
for (const f of files) {
  fs.copyFileSync(path.join(from, f), path.join(to, f));
}
