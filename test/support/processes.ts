/**
 * Child processes of the end-to-end tests (`cdk`, `terraform`), each in its own
 * process group so that one signal reaches everything it started (Terraform's
 * `local-exec` shells, `npx`'s node), and all killed when this process ends,
 * fails or is interrupted. Only processes started here are ever signalled.
 */
import { ChildProcess, spawn } from 'child_process';

/** What a finished process did. `output` is stdout and stderr interleaved as they arrived. */
export interface ProcessResult {
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
  /** Date.now() at spawn and at exit. */
  readonly startedAt: number;
  readonly endedAt: number;
}

/** A process started by `startProcess`. */
export interface TrackedProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly startedAt: number;
  /** Resolves when the process has exited (never rejects; a spawn error is code null, the message in stderr). */
  readonly done: Promise<ProcessResult>;
  /** Signals the whole process group. */
  kill(signal?: NodeJS.Signals): void;
  exited(): boolean;
  /** stdout and stderr interleaved, as far as they have arrived (colour codes removed). */
  outputSoFar(): string;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Kill the process group with SIGKILL after this long; the result then says so. */
  readonly timeoutMs?: number;
}

const live = new Set<TrackedProcess>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

function killAllNow(): void {
  for (const p of live) p.kill('SIGKILL');
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllNow);
  for (const s of SIGNALS) {
    process.on(s, (signal: NodeJS.Signals) => {
      killAllNow();
      // Let the signal do what it would have done, unless someone else (jest) handles it.
      if (process.listeners(signal).length === 1) {
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
      }
    });
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** Removes terminal colour codes (Terraform colours its output even into a pipe). */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Starts `file args` in a new process group, tracked until it exits. */
export function startProcess(file: string, args: string[], opts: StartOptions): TrackedProcess {
  hookExit();
  const startedAt = Date.now();
  const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (c: string) => { stdout += c; output += c; });
  child.stderr!.on('data', (c: string) => { stderr += c; output += c; });
  let spawnError: Error | undefined;
  const exited = () => child.exitCode !== null || child.signalCode !== null || spawnError !== undefined;
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (exited() || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  const command = [file, ...args].join(' ');
  let timedOut = false;
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    kill('SIGKILL');
  }, opts.timeoutMs);
  const done = new Promise<ProcessResult>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      live.delete(tracked);
      const note = (spawnError ? `spawn error: ${spawnError.message}\n` : '') +
        (timedOut ? `[killed after ${opts.timeoutMs} ms: ${command}]\n` : '');
      resolve({
        command,
        code,
        signal,
        stdout: stripAnsi(stdout),
        stderr: stripAnsi(stderr + note),
        output: stripAnsi(output + note),
        startedAt,
        endedAt: Date.now(),
      });
    };
    child.on('error', (e) => {
      spawnError = e;
      finish(null, null);
    });
    // 'close' (not 'exit'): all output has been read by then.
    child.on('close', (code, signal) => finish(code, signal));
  });
  const outputSoFar = () => stripAnsi(output);
  const tracked: TrackedProcess = { pid: child.pid ?? -1, child, startedAt, done, exited, kill, outputSoFar };
  live.add(tracked);
  return tracked;
}

/**
 * Waits until the running process has printed something that matches `pattern`, and
 * returns the match. Fails (with the process's output) if it exits first or after
 * `timeoutMs`; the process keeps running either way.
 */
export async function waitForOutput(p: TrackedProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(p.outputSoFar());
    if (m) return m;
    if (p.exited()) {
      const r = await p.done;
      throw new Error(`${r.command} ended without printing ${pattern}:\n${r.output}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${pattern} did not appear within ${timeoutMs} ms in the output of pid ${p.pid}:\n${p.outputSoFar()}`);
    }
    await new Promise<void>((r) => setTimeout(r, 50));
  }
}

/** Starts a process and waits for it to exit. */
export function runProcess(file: string, args: string[], opts: StartOptions): Promise<ProcessResult> {
  return startProcess(file, args, opts).done;
}

/** Kills (SIGKILL) every tracked process still running and waits for them. */
export async function killAll(): Promise<void> {
  const running = [...live];
  for (const p of running) p.kill('SIGKILL');
  await Promise.all(running.map((p) => p.done));
}

/**
 * The environment for a child, from this one without anything that would point it at
 * a real account or change what it does: every `AWS_*`, `TF_*` and `CDK_*` variable
 * is dropped, then `extra` is added.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|TF_|CDK_|JSII_)/.test(k) || k === 'CHECKPOINT_DISABLE') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
