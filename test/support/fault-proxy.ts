/**
 * A loopback HTTP proxy in front of an emulator (moto_server) that injects the faults a
 * client of S3 and DynamoDB meets, by rule: the method, the path (S3) or the
 * `X-Amz-Target` operation (DynamoDB), and which matching request (the nth, and how many
 * from there). The client points its endpoint at the proxy; requests no rule takes are
 * forwarded unchanged. Rules come in sets (`addRules`), each with its own record of the
 * faults it injected, so that cases on different keys can run at the same time.
 *
 * The faults, each as the client sees it:
 * - `lose-response`: the request is forwarded and processed, then the connection is
 *   closed before any of the answer is sent (the SDK sees a socket hang up);
 * - `slow-down-503` / `internal-error-500`: answered by the proxy without forwarding,
 *   as the service answers them (S3: XML `SlowDown` / `InternalError`; DynamoDB: JSON
 *   with `X-Amzn-ErrorType`, `ServiceUnavailable` / `InternalServerError`);
 * - `throttle`: DynamoDB's `ThrottlingException` (400, `X-Amzn-ErrorType`), not forwarded;
 * - `reset-mid-body`: forwarded and processed, then the answer's status and headers and
 *   half its body (or a promised byte of an empty one) are sent, and the connection reset;
 * - `delay`: forwarded and processed at once, the answer held for `delayMs` (longer than
 *   the client's timeout), so the client gives up on it and retries; a held answer is let
 *   go as soon as the client closes the connection (it gave up: nothing can be sent).
 */
import * as http from 'http';
import { AddressInfo } from 'net';

export type Fault = 'lose-response' | 'slow-down-503' | 'internal-error-500' | 'throttle' | 'reset-mid-body' | 'delay';

export const FAULTS: readonly Fault[] = ['lose-response', 'slow-down-503', 'internal-error-500', 'throttle', 'reset-mid-body', 'delay'];

/** A request as a rule sees it. */
export interface SeenRequest {
  readonly method: string;
  /** The path and query, as sent (`/bucket/key?versionId=...`). */
  readonly url: string;
  /** DynamoDB: the operation (`PutItem`), from `X-Amz-Target`. */
  readonly target?: string;
  readonly body: Buffer;
}

export interface FaultRule {
  readonly fault: Fault;
  readonly method?: string;
  /** Matched against the decoded path and query. */
  readonly path?: RegExp;
  /** DynamoDB operation name. */
  readonly target?: string;
  /** Further test on the request (a LockID in the body, a key). */
  readonly when?: (r: SeenRequest) => boolean;
  /** Which matching request is the first to get the fault (1-based; default 1). */
  readonly nth?: number;
  /** How many matching requests from the nth get it (default 1; Infinity: all). */
  readonly times?: number;
  /** `delay`: how long the answer is held (default 3000 ms). */
  readonly delayMs?: number;
}

export interface InjectedFault {
  readonly fault: Fault;
  readonly method: string;
  readonly url: string;
  readonly target?: string;
}

/** A set of rules, in force from `addRules` until `remove`. */
export interface FaultRules {
  /** The faults this set injected, in order. */
  readonly injected: readonly InjectedFault[];
  /** Takes the rules out: requests from now on are not matched against them. */
  remove(): void;
  /** Waits for the answers this set held (`delay`) to be let go, so a case ends with nothing in flight. */
  settle(): Promise<void>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /**
   * Puts rules in force beside those of other sets; each counts its matching requests from
   * zero. A request is matched against every set's rules, and gets the fault of the first
   * rule (in the order the sets were added) whose turn it is.
   */
  addRules(rules: readonly FaultRule[]): FaultRules;
  stop(): Promise<void>;
}

interface RuleSet {
  readonly rules: Array<{ rule: FaultRule; seen: number }>;
  readonly injected: InjectedFault[];
  readonly held: Set<Promise<void>>;
}

function matches(rule: FaultRule, r: SeenRequest): boolean {
  return (rule.method === undefined || rule.method === r.method)
    && (rule.path === undefined || rule.path.test(decodeURIComponent(r.url)))
    && (rule.target === undefined || rule.target === r.target)
    && (rule.when === undefined || rule.when(r));
}

/** The error answer the service gives, as S3 (XML) or DynamoDB (JSON) writes it. */
function errorAnswer(fault: Fault, dynamodb: boolean): { status: number; headers: http.OutgoingHttpHeaders; body: string } {
  if (dynamodb) {
    const [status, type, message] = fault === 'throttle'
      ? [400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.']
      : fault === 'slow-down-503' ? [503, 'ServiceUnavailable', 'Service unavailable'] : [500, 'InternalServerError', 'Internal server error'];
    return {
      status,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': `${type}:`, 'x-amzn-requestid': 'FAULTPROXY' },
      body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
    };
  }
  const [status, code, message] = fault === 'slow-down-503'
    ? [503, 'SlowDown', 'Please reduce your request rate.'] : [500, 'InternalError', 'We encountered an internal error. Please try again.'];
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FAULTPROXY</RequestId></Error>`,
  };
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const sets = new Set<RuleSet>();

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = http.request({
        host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const amzTarget = req.headers['x-amz-target'];
        const seen: SeenRequest = {
          method: req.method ?? 'GET', url: req.url ?? '/', body,
          target: typeof amzTarget === 'string' ? amzTarget.split('.').pop() : undefined,
        };
        let fault: FaultRule | undefined;
        let set: RuleSet | undefined;
        for (const s of sets) {
          for (const r of s.rules) {
            if (!matches(r.rule, seen)) continue;
            r.seen++;
            const first = r.rule.nth ?? 1;
            if (fault === undefined && r.seen >= first && r.seen < first + (r.rule.times ?? 1)) {
              fault = r.rule;
              set = s;
            }
          }
        }
        if (fault) set!.injected.push({ fault: fault.fault, method: seen.method, url: seen.url, target: seen.target });
        const kind = fault?.fault;
        try {
          if (kind === 'slow-down-503' || kind === 'internal-error-500' || kind === 'throttle') {
            const a = errorAnswer(kind, seen.target !== undefined);
            res.writeHead(a.status, { ...a.headers, 'content-length': Buffer.byteLength(a.body) });
            res.end(a.body);
            return;
          }
          const answer = await forward(req, body);
          if (kind === 'lose-response') {
            req.socket.destroy();
            return;
          }
          const headers = { ...answer.headers };
          delete headers['transfer-encoding'];
          if (kind === 'reset-mid-body') {
            res.writeHead(answer.status, { ...headers, 'content-length': Math.max(answer.body.length, 1) });
            res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
            // Let the head and the half reach the client before the reset.
            setTimeout(() => req.socket.destroy(), 20);
            return;
          }
          if (kind === 'delay') {
            const wait = new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, fault!.delayMs ?? 3000);
              res.once('close', () => { clearTimeout(timer); resolve(); });
            });
            set!.held.add(wait);
            await wait;
            set!.held.delete(wait);
          }
          if (res.destroyed || req.socket.destroyed) return;
          res.writeHead(answer.status, { ...headers, 'content-length': answer.body.length });
          res.end(answer.body);
        } catch (e) {
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`fault proxy: ${(e as Error).message}`);
        }
      })();
    });
  });
  // The client closes connections it gave up on; those errors are expected.
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    addRules(rules) {
      const set: RuleSet = { rules: rules.map((rule) => ({ rule, seen: 0 })), injected: [], held: new Set() };
      sets.add(set);
      return {
        injected: set.injected,
        remove: () => { sets.delete(set); },
        settle: async () => { await Promise.all([...set.held]); },
      };
    },
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
