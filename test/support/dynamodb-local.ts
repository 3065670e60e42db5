/**
 * Obtains and runs AWS's DynamoDB Local for the integration tests.
 *
 * The jar comes from the npm package `amplify-dynamodb-simulator` (it ships
 * DynamoDB Local 1.25 in `emulator/`). Installing that package would pull
 * ~280 dependencies, so only its tarball is fetched (`npm pack`, verified
 * against a pinned integrity) and `package/emulator/` is extracted once into
 * `node_modules/.cache/dynamodb-local/<version>/`.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

export const EMULATOR_PACKAGE = 'amplify-dynamodb-simulator';
export const EMULATOR_PACKAGE_VERSION = '2.9.30';
/** `dist.integrity` of amplify-dynamodb-simulator@2.9.30 on the npm registry. */
export const EMULATOR_PACKAGE_INTEGRITY =
  'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const CACHE_PARENT = path.join(REPO_ROOT, 'node_modules', '.cache', 'dynamodb-local');
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** How to get a Java 17+, on any system. */
const JAVA_INSTALL_HINT = 'install a Java 17 or later runtime (for example Eclipse Temurin from https://adoptium.net, '
  + '`apt-get install openjdk-17-jre-headless`, `dnf install java-17-openjdk-headless` or `brew install openjdk@17`), '
  + 'put its `java` on PATH and re-run npm test';

export const JAVA_MISSING_MESSAGE = `DynamoDB Local needs Java 17+ on PATH, and \`java\` was not found; ${JAVA_INSTALL_HINT}`;

/** Folder holding DynamoDBLocal.jar and DynamoDBLocal_lib; fetched and extracted on first use. */
export function ensureDynamoDbLocal(): string {
  const dir = path.join(CACHE_PARENT, EMULATOR_PACKAGE_VERSION);
  if (fs.existsSync(path.join(dir, 'DynamoDBLocal.jar'))) {
    return dir;
  }
  fs.mkdirSync(CACHE_PARENT, { recursive: true });
  // Temp dir beside the target (same filesystem) so the final rename is atomic.
  const tmp = fs.mkdtempSync(path.join(CACHE_PARENT, `.tmp-${EMULATOR_PACKAGE_VERSION}-`));
  try {
    const spec = `${EMULATOR_PACKAGE}@${EMULATOR_PACKAGE_VERSION}`;
    const pack = spawnSync('npm', ['pack', spec, '--pack-destination', tmp, '--silent'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    if (pack.error || pack.status !== 0) {
      throw new Error(`DynamoDB Local: "npm pack ${spec}" failed: ${pack.error?.message ?? pack.stderr.trim()}`);
    }
    const tarball = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tarball) {
      throw new Error(`DynamoDB Local: "npm pack ${spec}" produced no tarball in ${tmp}`);
    }
    const tarballPath = path.join(tmp, tarball);
    const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(tarballPath)).digest('base64')}`;
    if (integrity !== EMULATOR_PACKAGE_INTEGRITY) {
      throw new Error(`DynamoDB Local: ${spec} tarball integrity ${integrity} != pinned ${EMULATOR_PACKAGE_INTEGRITY}`);
    }
    const tar = spawnSync('tar', ['-xzf', tarballPath, '-C', tmp, 'package/emulator'], { encoding: 'utf8' });
    if (tar.error || tar.status !== 0) {
      throw new Error(`DynamoDB Local: extracting ${tarball} failed: ${tar.error?.message ?? tar.stderr.trim()}`);
    }
    const extracted = path.join(tmp, 'package', 'emulator');
    if (!fs.existsSync(path.join(extracted, 'DynamoDBLocal.jar')) || !fs.existsSync(path.join(extracted, 'DynamoDBLocal_lib'))) {
      throw new Error(`DynamoDB Local: ${spec} has no emulator/DynamoDBLocal.jar + DynamoDBLocal_lib`);
    }
    try {
      fs.renameSync(extracted, dir);
    } catch (e) {
      // Another process won the race: fine if its copy is complete.
      if (!fs.existsSync(path.join(dir, 'DynamoDBLocal.jar'))) {
        throw e;
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (!fs.existsSync(path.join(dir, 'DynamoDBLocal.jar'))) {
    throw new Error(`DynamoDB Local: ${path.join(dir, 'DynamoDBLocal.jar')} missing after extraction`);
  }
  return dir;
}

/** Throws one clear line unless `java` (17+) runs. */
export function checkJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(JAVA_MISSING_MESSAGE);
  }
  const m = /version "((\d+)(?:\.(\d+))?[^"]*)"/.exec(`${r.stderr}${r.stdout}`);
  const major = m ? (m[2] === '1' ? Number(m[3]) : Number(m[2])) : NaN;
  if (!(major >= 17)) {
    const found = m ? `Java ${major} (version ${JSON.stringify(m[1])})` : 'a Java whose version `java -version` does not name';
    throw new Error(`DynamoDB Local needs Java 17+ on PATH, and \`java\` is ${found}; ${JAVA_INSTALL_HINT}`);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Kills the child and resolves once it has exited (SIGTERM, then SIGKILL after a grace period). */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (exited(child)) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Makes sure the child dies with this process, even when it ends without reaching
 * globalTeardown (failure, interrupt, SIGTERM). Returns the function that undoes it.
 */
function killWithParent(child: ChildProcess): () => void {
  const killNow = () => {
    if (!exited(child)) child.kill('SIGKILL');
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killNow();
    undo();
    // Let the signal do what it would have done, unless someone else (jest) handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const undo = () => {
    process.removeListener('exit', killNow);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
  process.on('exit', killNow);
  for (const s of SIGNALS) process.on(s, onSignal);
  return undo;
}

/**
 * One DynamoDB `ListTables` call over plain HTTP; resolves true on a 200 with a TableNames list.
 * (No AWS SDK here: keeps globalSetup light to load. DynamoDB Local checks that an
 * Authorization header names an access key, not the signature.)
 */
export function listTablesAnswers(endpoint: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const body = '{}';
    const req = http.request(endpoint, {
      method: 'POST',
      timeout: timeoutMs,
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.ListTables',
        'Authorization': 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        'Content-Length': Buffer.byteLength(body),
      },
    }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { data += c; });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && Array.isArray(JSON.parse(data).TableNames));
        } catch {
          resolve(false);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

async function startOnce(dir: string): Promise<DynamoDbLocal> {
  const port = await freePort();
  // DynamoDB Local 1.25 has no host option (it binds all interfaces); clients use 127.0.0.1.
  const child = spawn(
    'java',
    [
      // Faster start and warm-up for a short-lived test server.
      '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xmx512m',
      `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
      '-jar', path.join(dir, 'DynamoDBLocal.jar'),
      '-inMemory', '-disableTelemetry', '-port', String(port),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: false },
  );
  const release = killWithParent(child);
  const stop = async () => {
    await stopProcess(child);
    release();
  };
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.on('error', (e) => {
    spawnError = e;
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (spawnError) {
        throw (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(JAVA_MISSING_MESSAGE) : spawnError;
      }
      if (exited(child)) {
        throw new Error(`DynamoDB Local exited (code ${child.exitCode}, signal ${child.signalCode}) before answering:\n${output}`);
      }
      if (await listTablesAnswers(endpoint)) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS} ms:\n${output}`);
      }
      await sleep(50);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  child.stdout?.removeListener('data', keep);
  child.stderr?.removeListener('data', keep);
  child.stdout?.resume();
  child.stderr?.resume();
  return { endpoint, process: child, stop };
}

/** Fetches (first time only) and starts DynamoDB Local in memory on a free loopback port. */
export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  checkJava();
  const dir = ensureDynamoDbLocal();
  let last: unknown;
  // A second try covers the small window in which the free port can be taken by someone else.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await startOnce(dir);
    } catch (e) {
      last = e;
      if (e instanceof Error && (e.message === JAVA_MISSING_MESSAGE || e.message.includes('did not answer'))) {
        break;
      }
    }
  }
  throw last;
}
