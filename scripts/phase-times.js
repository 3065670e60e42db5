#!/usr/bin/env node
// Runs package.json scripts as the phases of a test run, stopping at the first
// that fails, and prints each one's wall time and CPU time (user + system of the
// script and every process it started), then the totals. `npm test` runs it.
//
// Usage:
//   node scripts/phase-times.js PHASE [PHASE ...]
// A PHASE is the name of a package.json script, or several joined with `,`
// (run one after the other), or lanes of those joined with `+`, which run at
// the same time (the phase ends when all lanes have; the first script to fail
// stops the others, and the run). A script that is only a chain of others
// (`npm run a && npm run b`) runs as those steps, each timed on its own line:
// `typecheck,check-pack+lint,rosetta` runs typecheck then check-pack, beside
// lint then rosetta. Each script runs as
// `npm run` runs it: `sh -c` from the package root, node_modules/.bin first on
// PATH. Lines of scripts that run side by side are prefixed with their name.
//
// CPU time comes from /proc (the user and system time of the waited-for
// children of a small wrapper process around each script, which include their
// own waited-for children). On a machine that other work keeps busy, compare
// CPU times: wall times there say more about the other work. Without /proc
// (not Linux) only wall times are printed.
//
// PHASE_TIMES_JSON=FILE also writes the figures to FILE as JSON.
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const scripts = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
const CHAIN = /^npm run [\w:.-]+( && npm run [\w:.-]+)*$/;
const TICKS = 100; // USER_HZ: Linux reports child times in 1/100 s on every architecture.

/** User + system seconds of this process's waited-for children so far, or undefined without /proc. */
function childCpuSeconds() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // The fields after the command name in parentheses; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / TICKS;
  } catch {
    return undefined;
  }
}

/** The wrapper, `phase-times.js --run SCRIPT`: runs one script and reports its CPU time to the parent. */
function runOne(name) {
  const env = { ...process.env, PATH: `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` };
  const child = spawn('sh', ['-c', scripts[name]], { cwd: root, env, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (e) => {
    process.send({ cpu: childCpuSeconds(), error: e.message }, () => process.exit(1));
  });
  child.on('exit', (code, signal) => {
    process.send({ cpu: childCpuSeconds(), signal }, () => process.exit(code ?? 1));
  });
}

/** A script that is a chain of `npm run` steps, as the steps (recursively); any other, as itself. */
function expand(name, from) {
  if (scripts[name] === undefined) {
    console.error(`phase-times: package.json has no script "${name}" (${from}); its scripts are: ${Object.keys(scripts).join(', ')}`);
    process.exit(2);
  }
  const body = scripts[name];
  if (!CHAIN.test(body)) {
    return [name];
  }
  return body.split(' && ').flatMap((step) => expand(step.slice('npm run '.length), `run by "${name}"`));
}

/** The phases of ARGS, each a list of lanes that run side by side, each lane a list of scripts run in turn. */
function parsePhases(args) {
  return args.flatMap((arg) => {
    const lanes = arg.split('+').map((lane) => lane.split(',').flatMap((name) => expand(name, `in "${arg}"`)));
    // One lane: its scripts are phases of their own.
    return lanes.length === 1 ? lanes[0].map((name) => [[name]]) : [lanes];
  });
}

const running = new Set();
/** Runs one script through the wrapper; resolves to its outcome and figures. */
function run(name, prefixed) {
  return new Promise((resolve) => {
    const started = Date.now();
    const stdio = prefixed ? ['inherit', 'pipe', 'pipe', 'ipc'] : ['inherit', 'inherit', 'inherit', 'ipc'];
    // Its own process group, so that a failing sibling can stop it and everything it started.
    const child = spawn(process.execPath, [path.join(__dirname, 'phase-times.js'), '--run', name], { cwd: root, stdio, detached: true });
    running.add(child);
    if (prefixed) {
      for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
        let partial = '';
        from.on('data', (chunk) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop();
          for (const line of lines) to.write(`[${name}] ${line}\n`);
        });
        from.on('end', () => partial && to.write(`[${name}] ${partial}\n`));
      }
    }
    let report = {};
    child.on('message', (m) => {
      report = m;
    });
    child.on('error', (e) => {
      running.delete(child);
      resolve({ name, code: 1, error: e.message, wall: (Date.now() - started) / 1000 });
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ name, code: code ?? 1, signal: report.signal ?? signal, error: report.error, wall: (Date.now() - started) / 1000, cpu: report.cpu });
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
const fmt = (s) => (s === undefined ? '-' : `${s.toFixed(1)} s`);

async function main(args) {
  if (args.length === 0) {
    console.error('phase-times: name the package.json scripts to run, e.g. `node scripts/phase-times.js build typecheck+lint test:unit`');
    process.exit(2);
  }
  const phases = parsePhases(args);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      stopAll(signal);
      process.exit(130);
    });
  }
  const results = [];
  const started = Date.now();
  let failed;
  for (const lanes of phases) {
    const label = lanes.map((lane) => lane.join(' > ')).join(' + ');
    console.log(`\n::: ${lanes.length > 1 ? 'side by side: ' : ''}${label}`);
    const t0 = Date.now();
    const steps = [];
    await Promise.all(lanes.map(async (lane) => {
      for (const name of lane) {
        if (failed) return;
        const outcome = await run(name, lanes.length > 1);
        steps.push(outcome);
        if (outcome.code !== 0 && !failed) {
          // The first to fail is the one reported: the siblings it stops fail after it.
          failed = outcome;
          stopAll('SIGTERM');
        }
      }
    }));
    if (lanes.length > 1) {
      // Each script's own line, then the phase's wall time (CPU is the sum of its scripts').
      for (const lane of lanes) {
        for (const name of lane) {
          const s = steps.find((x) => x.name === name);
          if (s) results.push({ phase: `  ${name}`, wall: s.wall, cpu: s.cpu, inParallel: true });
        }
      }
      const cpus = steps.map((s) => s.cpu);
      results.push({ phase: `(side by side: ${label})`, wall: (Date.now() - t0) / 1000, cpu: cpus.includes(undefined) ? undefined : cpus.reduce((a, b) => a + b, 0) });
    } else {
      results.push({ phase: steps[0].name, wall: steps[0].wall, cpu: steps[0].cpu });
    }
    if (failed) break;
  }
  const totalCpu = results.filter((r) => !r.inParallel).map((r) => r.cpu);
  const total = { wall: (Date.now() - started) / 1000, cpu: totalCpu.includes(undefined) ? undefined : totalCpu.reduce((a, b) => a + b, 0) };

  const width = Math.max(...results.map((r) => r.phase.length), 'total'.length);
  console.log('\nPhase times (wall, and CPU: user + system of the script and the processes it started):');
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

if (process.argv[2] === '--run') {
  runOne(process.argv[3]);
} else {
  main(process.argv.slice(2));
}
