/**
 * scripts/check-imports.js, which `npm run lint` runs: on libraries built in a
 * temporary directory (the circles it must name, the imports it must allow),
 * and on this repository's lib/.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { importViolations } = require('../scripts/check-imports') as {
  importViolations(libDir: string): Array<{ file: string; line: number; specifier: string; chain: string[] }>;
};

const SCRIPT = path.join(__dirname, '..', 'scripts', 'check-imports.js');

const made: string[] = [];

/** A lib/ directory of the given files (path under lib/ → text), in a fresh temporary directory. */
function library(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'check-imports-'));
  made.push(root);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, 'lib', file)), { recursive: true });
    fs.writeFileSync(path.join(root, 'lib', file), text);
  }
  return path.join(root, 'lib');
}

afterAll(() => {
  for (const root of made) fs.rmSync(root, { recursive: true, force: true });
});

/** A public construct file that imports lib/private/, and the private file it imports. */
const CONSTRUCT = {
  'construct.ts': "import { build } from './private/build';\nexport class Construct { constructor() { build(); } }\n",
  'private/build.ts': 'export function build(): void {}\n',
};

describe('check-imports', () => {
  test('names a lib/private/ import of a public file that imports lib/private/', () => {
    const lib = library({
      ...CONSTRUCT,
      'private/defaults.ts': "// the props\nimport { Construct } from '../construct';\nexport const c = Construct;\n",
    });
    expect(importViolations(lib)).toEqual([{
      file: 'lib/private/defaults.ts', line: 2, specifier: '../construct', chain: ['lib/construct.ts', 'lib/private/build.ts'],
    }]);
  });

  test('follows public files to lib/private/, and counts type-only and re-exporting imports', () => {
    const lib = library({
      ...CONSTRUCT,
      'stack.ts': "export { Construct } from './construct';\n",
      'private/validate.ts': "import type {\n  Construct,\n} from '../stack';\nexport type C = Construct;\n",
    });
    expect(importViolations(lib)).toEqual([{
      file: 'lib/private/validate.ts', line: 3, specifier: '../stack', chain: ['lib/stack.ts', 'lib/construct.ts', 'lib/private/build.ts'],
    }]);
  });

  test('allows public leaf modules, public files importing lib/private/, and lib/private/ importing itself', () => {
    const lib = library({
      ...CONSTRUCT,
      'settings.ts': "import { Duration } from 'aws-cdk-lib';\nexport enum Mode { A = 'A' }\nexport const d = Duration;\n",
      'index.ts': "export * from './construct';\nexport * from './settings';\n",
      'private/defaults.ts': "import { Mode } from '../settings';\nimport { build } from './build';\nexport const m = [Mode.A, build];\n",
    });
    expect(importViolations(lib)).toEqual([]);
  });

  test('fails the command on a circle, naming the file and the import', () => {
    const lib = library({ ...CONSTRUCT, 'private/defaults.ts': "import { Construct } from '../construct';\nexport const c = Construct;\n" });
    const run = spawnSync(process.execPath, [SCRIPT, lib], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("lib/private/defaults.ts:1 imports '../construct' (lib/construct.ts), which imports lib/private/build.ts");
  });

  test("passes this repository's lib/", () => {
    expect(importViolations(path.join(__dirname, '..', 'lib'))).toEqual([]);
    expect(execFileSync(process.execPath, [SCRIPT], { encoding: 'utf8' })).toContain('no import from lib/private/ back into lib/private/');
  });
});
