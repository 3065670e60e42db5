#!/usr/bin/env node
// The `tfstate-ops` command. The program itself is compiled from cli/src to cli/dist
// (by `npm ci`/`npm install`, which run this package's `prepare` script, or by
// `npm run build -w cli`).
'use strict';
let cli;
try {
  cli = require('../dist/index.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/index.js')) {
    process.stderr.write('tfstate-ops is not built: run `npm run build -w cli` in the repository (or `npm install` there)\n');
    process.exit(1);
  }
  throw e;
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
