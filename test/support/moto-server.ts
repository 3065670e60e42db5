/**
 * Starts moto's `moto_server` (an AWS API emulator: CloudFormation, S3, DynamoDB,
 * SSM, KMS, STS) on a free loopback port for the end-to-end tests.
 *
 * moto comes from the machine image (Python), not from a registry, so it is
 * detected, never installed (see tools.ts). Its lifetime is tied to this process
 * through a pipe: a small shell keeps moto's pid and reads its stdin, which is this
 * process's end of a pipe; when this process exits for any reason (including
 * SIGKILL) the pipe closes, the read ends, and the shell stops moto. `stop()` does
 * the same on purpose.
 */
import { ChildProcess, spawn } from 'child_process';
import * as http from 'http';
import { freePort } from './dynamodb-local';

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** The account moto_server answers as (its default). */
export const MOTO_ACCOUNT = '123456789012';

/** `$1` is the port. The `read` loop ends when our stdin (the parent's pipe) closes. */
const WRAPPER = [
  'moto_server -H 127.0.0.1 -p "$1" &',
  'pid=$!',
  'echo "moto-pid $pid"',
  'trap \'kill "$pid" 2>/dev/null; wait "$pid"; exit 0\' TERM INT HUP',
  'while read -r _; do :; done',
  'kill "$pid" 2>/dev/null',
  'wait "$pid"',
].join('\n');

export interface MotoServer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** moto's own pid (not the shell's). */
  readonly pid: number;
  /** Stops moto and waits until it has exited. */
  stop(): Promise<void>;
  /** The last lines moto printed (its request log), for diagnostics. */
  log(): string;
}

function get(url: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function startOnce(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const shell: ChildProcess = spawn('bash', ['-c', WRAPPER, 'moto-server', String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString()).slice(-1_000_000);
  };
  shell.stdout!.on('data', keep);
  shell.stderr!.on('data', keep);
  let spawnError: Error | undefined;
  shell.on('error', (e) => {
    spawnError = e;
  });
  const shellExited = () => shell.exitCode !== null || shell.signalCode !== null || spawnError !== undefined;

  let motoPid = 0;
  const stop = async () => {
    if (!shellExited()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          shell.kill('SIGKILL');
          if (motoPid && alive(motoPid)) process.kill(motoPid, 'SIGKILL');
        }, STOP_TIMEOUT_MS);
        shell.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        shell.stdin!.end();
      });
    }
    for (let i = 0; motoPid && alive(motoPid) && i < 50; i++) await sleep(100);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      const m = /moto-pid (\d+)/.exec(out);
      if (m) motoPid = Number(m[1]);
      if (spawnError) throw spawnError;
      if (shellExited() || (motoPid && !alive(motoPid))) {
        throw new Error(`moto_server exited before answering on ${endpoint}:\n${out}`);
      }
      if (motoPid && (await get(`${endpoint}/moto-api/`)) === 200) break;
      if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint} within ${READY_TIMEOUT_MS} ms:\n${out}`);
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, pid: motoPid, stop, log: () => out };
}

/** Starts moto_server on a free loopback port (a second try covers a port taken in between). */
export async function startMotoServer(): Promise<MotoServer> {
  try {
    return await startOnce();
  } catch (e) {
    if (e instanceof Error && /Address already in use/.test(e.message)) return startOnce();
    throw e;
  }
}
