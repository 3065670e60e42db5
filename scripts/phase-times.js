#!/usr/bin/env node
// Runs npm scripts as the phases of a test run, in order, stopping at the first
// that fails, and prints each phase's wall time and CPU time (user + system of
// the phase and every process it started), then the totals.
//
// Usage:
//   node scripts/phase-times.js SCRIPT [SCRIPT ...]
// Each SCRIPT is the name of a package.json script. A script that is only a
// chain of others (`npm run a && npm run b`) is expanded into those, so each of
// them gets its own line. SCRIPTs joined with `+` (`lint+typecheck`) run at the
// same time, and the phase ends when all of them have; one that fails stops the
// others and the run. Each script runs as `npm run` would run it: with
// `sh -c`, from the package root, with node_modules/.bin first on PATH.
//
// CPU time is read from /proc/self/stat (the user and system time of waited-for
// children, which includes their own waited-for children): on a machine that
// other work keeps busy, CPU time compares runs where wall time cannot.
// Elsewhere (no /proc) only wall time is printed.
//
// PHASE_TIMES_JSON=FILE also writes the figures to FILE as JSON.
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
const CHAIN = /^npm run [\w:.-]+( && npm run [\w:.-]+)*$/;

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('phase-times: name the package.json scripts to run, e.g. `node scripts/phase-times.js build typecheck+lint test:unit`');
  process.exit(2);
}

/** The phases: each a list of scripts that run at the same time. */
const phases = [];
for (const arg of args) {
  const group = arg.split('+');
  for (const name of group) {
    if (scripts[name] === undefined) {
      console.error(`phase-times: package.json has no script "${name}" (in "${arg}"); its scripts are: ${Object.keys(scripts).join(', ')}`);
      process.exit(2);
    }
  }
  if (group.length === 1) {
    for (const name of expand(group[0])) {
      phases.push([name]);
    }
  } else {
    phases.push(group);
  }
}

/** A script that is a chain of `npm run` steps, as the steps (recursively); any other as itself. */
function expand(name) {
  const body = scripts[name];
  if (!CHAIN.test(body)) {
    return [name];
  }
  return body.split(' && ').map((step) => step.slice('npm run '.length)).flatMap((step) => {
    if (scripts[step] === undefined) {
      console.error(`phase-times: script "${name}" runs "${step}", which package.json does not have`);
      process.exit(2);
    }
    return expand(step);
  });
}

const TICKS = 100; // USER_HZ: Linux reports child times in 1/100 s on every architecture.
/** User + system seconds of this process's waited-for children so far, or undefined without /proc. */
function childCpuSeconds() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / TICKS;
  } catch {
    return undefined;
  }
}

const running = new Set();
function run(name) {
  return new Promise((resolve) => {
    const env = { ...process.env, PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` };
    // Its own process group, so that a failing sibling can stop it and everything it started.
    const child = spawn('sh', ['-c', scripts[name]], { cwd: root, env, stdio: 'inherit', detached: true });
    running.add(child);
    child.on('error', (e) => {
      running.delete(child);
      resolve({ name, code: 1, error: e.message });
    });
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ name, code: code ?? 1, signal });
    });
  });
}

function stopAll(signal) {
  for (const child of running) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopAll(signal);
    process.exit(130);
  });
}

const fmt = (s) => (s === undefined ? '-' : `${s.toFixed(1)} s`);

async function main() {
  const results = [];
  const started = Date.now();
  const cpuStarted = childCpuSeconds();
  let failed;
  for (const group of phases) {
    const label = group.join(' + ');
    console.log(`\n::: phase ${label}`);
    const t0 = Date.now();
    const c0 = childCpuSeconds();
    // The first to fail is the one reported: the siblings it stops fail after it.
    await Promise.all(group.map((name) => run(name).then((outcome) => {
      if (outcome.code !== 0 && !failed) {
        failed = outcome;
        stopAll('SIGTERM');
      }
    })));
    const c1 = childCpuSeconds();
    results.push({ phase: label, wall: (Date.now() - t0) / 1000, cpu: c0 === undefined ? undefined : c1 - c0 });
    if (failed) {
      break;
    }
  }
  const total = { wall: (Date.now() - started) / 1000, cpu: cpuStarted === undefined ? undefined : childCpuSeconds() - cpuStarted };

  const width = Math.max(...results.map((r) => r.phase.length), 'total'.length);
  console.log('\nPhase times (wall; CPU = user + system of the phase and its processes):');
  console.log(`  ${'phase'.padEnd(width)}  ${'wall'.padStart(8)}  ${'CPU'.padStart(8)}`);
  for (const r of results) {
    console.log(`  ${r.phase.padEnd(width)}  ${fmt(r.wall).padStart(8)}  ${fmt(r.cpu).padStart(8)}`);
  }
  console.log(`  ${'total'.padEnd(width)}  ${fmt(total.wall).padStart(8)}  ${fmt(total.cpu).padStart(8)}`);
  if (failed) {
    const how = failed.error ?? (failed.signal ? `was stopped by ${failed.signal}` : `exited with ${failed.code}`);
    console.log(`phase-times: "${failed.name}" ${how}; the phases after it did not run.`);
  }
  if (process.env.PHASE_TIMES_JSON) {
    fs.writeFileSync(process.env.PHASE_TIMES_JSON, `${JSON.stringify({ phases: results, total, failed: failed?.name }, null, 2)}\n`);
  }
  process.exit(failed ? 1 : 0);
}

main();
