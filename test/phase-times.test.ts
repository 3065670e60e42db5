/**
 * `npm test` is `node scripts/phase-times.js PHASES...`: it runs every check that the
 * chained scripts name (build, build:cli, check-generated, typecheck, test:packaging's
 * steps, and test:jest: the unit and e2e files in one jest run), some side by side, and
 * fails when one fails.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'phase-times.js');
const scripts: Record<string, string> = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;

/** The scripts a chain (`npm run a && npm run b`) runs, recursively; any other script is itself. */
function steps(name: string): string[] {
  const body = scripts[name];
  expect(body).toBeDefined();
  return /^npm run [\w:.-]+( && npm run [\w:.-]+)*$/.test(body)
    ? body.split(' && ').flatMap((s) => steps(s.slice('npm run '.length)))
    : [name];
}

/** Runs phase-times.js in a package of its own with these scripts. */
function runIn(pkgScripts: Record<string, string>, ...args: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'phase-times-'));
  try {
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.copyFileSync(SCRIPT, path.join(dir, 'scripts', 'phase-times.js'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'x', scripts: pkgScripts }));
    const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'phase-times.js'), ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm test', () => {
  const [runner, ...phases] = scripts.test.split(' ');

  test('runs every check once: the build, the generated files, the type check, packaging, unit and e2e tests', () => {
    expect(runner).toBe('node');
    expect(phases[0]).toBe('scripts/phase-times.js');
    const ran = phases.slice(1).flatMap((phase) => phase.split(/[+,]/)).flatMap(steps);
    const expected = ['build', 'build:cli', 'check-generated', 'typecheck', 'test:packaging', 'test:jest'].flatMap(steps);
    expect([...ran].sort()).toEqual([...expected].sort());
    // What needs the build runs after it.
    expect(phases[1]).toBe('build+build:cli');
  });

  test('runs jest with --ci', () => {
    expect(scripts['test:unit']).toMatch(/^jest --ci /);
    expect(scripts['test:e2e']).toMatch(/^jest --ci /);
    expect(scripts['test:jest']).toMatch(/^jest --ci /);
  });

  test('test:jest runs every test file: the unit files (test:unit) and the e2e files (test:e2e)', () => {
    // No test path, pattern or filter: jest.config.js's testMatch, all of it.
    const args = scripts['test:jest'].split(' ').slice(1);
    expect(args.filter((a) => !/^--(ci|maxWorkers=\d+)$/.test(a))).toEqual([]);
    expect(scripts['test:unit']).toBe('jest --ci --testPathIgnorePatterns=/test/e2e/');
    expect(scripts['test:e2e']).toMatch(/^jest --ci (--maxWorkers=\d+ )?test\/e2e$/);
  });
});

describe('scripts/phase-times.js', () => {
  const SCRIPTS = {
    ok: 'echo ran ok',
    chain: 'npm run ok && npm run busy',
    busy: 'node -e "const t = Date.now(); while (Date.now() - t < 300);"',
    fails: 'sleep 0.2; exit 3',
    slow: 'sleep 30; echo slow finished',
  };

  test('runs the steps of a chain and lanes side by side, and prints each one\'s wall and CPU time', () => {
    const { status, out } = runIn(SCRIPTS, 'chain', 'ok+busy');
    expect(status).toBe(0);
    expect(out).toMatch(/^ran ok$/m);
    expect(out).toMatch(/^\[ok\] ran ok$/m);
    const table = out.slice(out.indexOf('Phase times'));
    for (const line of [/^ {2}ok +\d+\.\d s +\d+\.\d s$/m, /^ {2}busy +\d+\.\d s +(\d+\.\d) s$/m, /^ {4}busy /m, /^ {2}\(side by side: ok \+ busy\) /m, /^ {2}total /m]) {
      expect(table).toMatch(line);
    }
    // The busy loop's CPU time is counted (300 ms of it, in 10 ms ticks).
    expect(Number(/^ {2}busy +\d+\.\d s +(\d+\.\d) s$/m.exec(table)![1])).toBeGreaterThanOrEqual(0.2);
  });

  test('fails when a script fails, stops the ones beside it, and runs no later phase', () => {
    const started = Date.now();
    const { status, out } = runIn(SCRIPTS, 'fails+slow', 'ok');
    expect(status).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(out).toContain('phase-times: "fails" exited with 3; the phases after it did not run.');
    expect(out).not.toContain('slow finished');
    expect(out).not.toMatch(/^ran ok$/m);
  });

  test('refuses a script that package.json does not have, naming it', () => {
    const { status, out } = runIn(SCRIPTS, 'ok+nope');
    expect(status).toBe(2);
    expect(out).toContain('phase-times: package.json has no script "nope" (in "ok+nope"); its scripts are: ok, chain, busy, fails, slow');
  });
});
