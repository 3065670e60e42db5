#!/usr/bin/env node
// Imports in lib/ flow one way: the public files (lib/, outside lib/private/)
// import lib/private/, and lib/private/ imports only the public files that reach
// no lib/private/ file (leaf modules such as the enums of state-settings.ts).
// A lib/private/ file that imports a public file reaching lib/private/, directly
// or through other public files, closes a circle; this script names each such
// import and the chain back into lib/private/, and exits 1.
//
// Every import counts: `import`, `import type` (a circle of types is still a
// circle), `export ... from`, `require()` and `import()`. Only relative imports
// are followed; packages (aws-cdk-lib, constructs) are outside lib/.
//
// Usage: node scripts/check-imports.js [lib directory, default lib/]
// `npm run lint` runs it; test/check-imports.test.ts tests it.
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

/** The .ts sources under `dir` (declaration files and jsii's output left out). */
function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

/** The file a relative specifier of `from` names: `<spec>.ts` or `<spec>/index.ts`; undefined outside the sources. */
function resolve(from, specifier, known) {
  const base = path.resolve(path.dirname(from), specifier);
  return [`${base}.ts`, path.join(base, 'index.ts'), base].find((candidate) => known.has(candidate));
}

/**
 * The violations in the sources under `libDir`: each a lib/private/ file's
 * import of a public file that reaches lib/private/.
 *
 * @returns `{ file, line, specifier, chain }`, paths relative to the parent of
 * `libDir`; `chain` runs from the imported public file to the first lib/private/ file it reaches.
 */
function importViolations(libDir) {
  const lib = path.resolve(libDir);
  const privateDir = path.join(lib, 'private') + path.sep;
  const files = sources(lib);
  const known = new Set(files);
  const isPrivate = (file) => file.startsWith(privateDir);
  const show = (file) => path.relative(path.dirname(lib), file).split(path.sep).join('/');

  const imports = new Map(files.map((file) => {
    const text = fs.readFileSync(file, 'utf8');
    const found = ts.preProcessFile(text, true, true).importedFiles
      .filter((imported) => imported.fileName.startsWith('.'))
      .map((imported) => ({
        specifier: imported.fileName,
        line: text.slice(0, imported.pos).split('\n').length,
        target: resolve(file, imported.fileName, known),
      }))
      .filter((imported) => imported.target !== undefined);
    return [file, found];
  }));

  // The shortest chain from a public file to a lib/private/ file it reaches (undefined: none), breadth first.
  function chainToPrivate(start) {
    const cameFrom = new Map([[start, undefined]]);
    const queue = [start];
    while (queue.length > 0) {
      const file = queue.shift();
      if (isPrivate(file)) {
        const chain = [];
        for (let at = file; at !== undefined; at = cameFrom.get(at)) chain.unshift(at);
        return chain;
      }
      for (const { target } of imports.get(file)) {
        if (!cameFrom.has(target)) {
          cameFrom.set(target, file);
          queue.push(target);
        }
      }
    }
    return undefined;
  }

  const violations = [];
  for (const file of files.filter(isPrivate)) {
    for (const { specifier, line, target } of imports.get(file)) {
      const chain = isPrivate(target) ? undefined : chainToPrivate(target);
      if (chain !== undefined) {
        violations.push({ file: show(file), line, specifier, chain: chain.map(show) });
      }
    }
  }
  return violations;
}

/** One line per violation, naming the file, the import and how it leads back. */
function describe(violation) {
  const [imported, ...rest] = violation.chain;
  return `${violation.file}:${violation.line} imports '${violation.specifier}' (${imported}), which imports ${rest.join(', which imports ')}`;
}

if (require.main === module) {
  const libDir = process.argv[2] ?? path.join(__dirname, '..', 'lib');
  const violations = importViolations(libDir);
  if (violations.length > 0) {
    for (const violation of violations) console.error(`check-imports: ${describe(violation)}`);
    console.error(`check-imports: ${violations.length} import(s) from lib/private/ back into lib/private/. lib/private/ may import only ` +
      'public files that reach no lib/private/ file: declare what both sides need in lib/private/ (or a public leaf module), ' +
      'have the build step take plain values, or move code made of public constructs out of lib/private/.');
    process.exit(1);
  }
  console.log(`check-imports: ${path.relative(process.cwd(), path.resolve(libDir)) || '.'}: no import from lib/private/ back into lib/private/`);
}

module.exports = { importViolations, describe };
