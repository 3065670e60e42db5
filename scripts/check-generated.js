#!/usr/bin/env node
// Fails when the generated, committed files (.jsii, API.md) differ from what
// `npm run build` just produced: regenerate them and commit them with the
// change to the public API or its docs.
const { execFileSync } = require('child_process');

const files = ['.jsii', 'API.md'];
let stale;
try {
  stale = execFileSync('git', ['status', '--porcelain', '--', ...files], { encoding: 'utf8' }).trim();
} catch (e) {
  console.error(`check-generated: cannot ask git about ${files.join(', ')}: ${e.message}`);
  process.exit(1);
}
if (stale) {
  console.error(`check-generated: ${files.join(' and ')} are not what the build generates; commit the regenerated files:\n${stale}`);
  process.exit(1);
}
console.log(`check-generated: ${files.join(' and ')} are up to date`);
