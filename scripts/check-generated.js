#!/usr/bin/env node
// Fails when the generated, committed files (.jsii, API.md, and templates/, the
// published CloudFormation templates and their landing-zone entries) differ from
// what `npm run build` just produced: regenerate them and commit them with the
// change to the public API, its docs or the constructs. A file in templates/
// that git does not track, or that the build no longer writes, counts as stale.
//
// It compares with git's committed copies. Outside a git checkout (a source
// archive, or the files not tracked by the enclosing repository) there are none:
// it says so and passes, since the build has just regenerated both files; with
// CI=true it fails instead, because CI must check a clone.
const { execFileSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const files = ['.jsii', 'API.md', 'templates'];

function git(...args) {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let tracked;
try {
  const listed = git('ls-files', '--', ...files).split('\n').filter((f) => f !== '');
  // A folder counts as tracked when git tracks a file in it.
  tracked = files.filter((f) => listed.some((l) => l === f || l.startsWith(`${f}/`)));
} catch (e) {
  tracked = [];
  const why = e.code === 'ENOENT' ? 'git is not installed' : 'this is not a git checkout';
  notChecked(`${why} (${String(e.stderr || e.message).trim().split('\n')[0]})`);
}
if (tracked.length < files.length) {
  notChecked(tracked.length === 0 ? `git tracks neither ${files.join(' nor ')} here` : `git tracks only ${tracked.join(', ')} here`);
}

function notChecked(why) {
  const message = `check-generated: cannot compare ${files.join(' and ')} with committed copies: ${why}.`;
  if (process.env.CI === 'true') {
    console.error(`${message} CI must run on a git clone.`);
    process.exit(1);
  }
  console.log(`${message} Not checked here (the build just regenerated them); CI checks them on its clone.`);
  process.exit(0);
}

let stale;
try {
  stale = git('status', '--porcelain', '--untracked-files=all', '--', ...files).trim();
} catch (e) {
  console.error(`check-generated: cannot ask git about ${files.join(', ')}: ${e.message}`);
  process.exit(1);
}
if (stale) {
  console.error(`check-generated: ${files.join(', ')} are not what the build generates; commit the regenerated files:\n${stale}`);
  process.exit(1);
}
console.log(`check-generated: ${files.join(', ')} are up to date`);
