/**
 * A recording proxy on a free loopback port in front of moto_server: every request a
 * client sends through it is forwarded to moto unchanged, and what IAM policies can
 * condition on is recorded, with moto's status code and the encryption S3 says an
 * object has. Used by test/e2e/terraform-requests.e2e.test.ts to record the requests
 * of the real Terraform binary.
 *
 * Why a proxy and not moto's recorder or `TF_LOG=trace`: the proxy sees the request
 * exactly as it leaves the client (method, path, query, every header) and the answer,
 * and it tells the runs apart by the access key each one signs with (the SigV4
 * `Credential=` of its `Authorization` header), so scenarios can run side by side in
 * one moto. moto's recorder keeps the body and a few headers only, for all clients in
 * one list; Terraform's trace log is meant for people, changes between versions, and
 * does not show the S3 answer's encryption headers.
 */
import * as http from 'http';
import { AddressInfo, Socket } from 'net';

/** One request as the recorder keeps it: what a policy can condition on, nothing that varies from run to run. */
export interface RecordedRequest {
  /** The SigV4 credential scope's service: `s3`, `dynamodb`, `ssm`, ... */
  readonly service: string;
  readonly method: string;
  /** The URL path, percent-decoded. */
  readonly path: string;
  /** The query parameters, decoded (a parameter without a value is `""`). */
  readonly query: Record<string, string>;
  /**
   * The request headers a policy or the service's authorization reads (the SSE and
   * ACL headers, conditional-write headers, `X-Amz-Target`), with their values; every
   * other `x-amz-*` header by name only (value `*`: dates, hashes and lengths change per run).
   */
  readonly headers: Record<string, string>;
  /** For the JSON protocols (DynamoDB, SSM): the request body's fields that name what it acts on. */
  readonly body?: Record<string, unknown>;
  /** moto's status code; 0 when moto gave no answer. */
  readonly status: number;
  /** For S3 GET and HEAD of an object: the encryption the answer reports (`x-amz-server-side-encryption*`). */
  readonly responseHeaders?: Record<string, string>;
}

/** Request headers kept with their values (lower case). */
const KEPT_VALUES = new Set([
  'x-amz-target',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-context',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-acl',
  'x-amz-storage-class',
  'x-amz-sdk-checksum-algorithm',
  'x-amz-checksum-algorithm',
  'x-amz-copy-source',
  'x-amz-tagging',
  'x-amz-object-lock-mode',
  'x-amz-bypass-governance-retention',
  'if-none-match',
  'if-match',
]);

/** Headers dropped altogether: they are per request and say nothing a policy reads. */
const DROPPED = new Set(['x-amz-date', 'x-amz-security-token', 'x-amz-user-agent', 'amz-sdk-invocation-id', 'amz-sdk-request']);

/** The answer's headers kept for S3 object reads. */
const RESPONSE_KEPT = ['x-amz-server-side-encryption', 'x-amz-server-side-encryption-aws-kms-key-id', 'x-amz-server-side-encryption-bucket-key-enabled'];

/** One recorded request, with the run (access key) and the operation label it was recorded under. */
export interface RecordedEntry {
  readonly accessKeyId: string;
  readonly label: string;
  readonly request: RecordedRequest;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** From now on, requests signed with `accessKeyId` are recorded under `label`. */
  label(accessKeyId: string, label: string): void;
  /**
   * Resolves once no connection is open that has sent, or may still send, a request
   * signed with `accessKeyId` (one that has sent nothing yet may be anyone's). Call it
   * before `label` when the processes of the last operation have exited: a SIGKILLed
   * Terraform's last request can still be in its socket when the test sees the exit,
   * and would otherwise be read under the next operation's label.
   */
  settled(accessKeyId: string, timeoutMs?: number): Promise<void>;
  /** Everything recorded so far, in arrival order. */
  entries(): readonly RecordedEntry[];
  stop(): Promise<void>;
}

/** `Credential=AKID/20261126/us-east-1/s3/aws4_request` of a SigV4 Authorization header. */
function credentialScope(authorization: string | undefined): { accessKeyId: string; service: string } | undefined {
  const m = /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return m ? { accessKeyId: m[1], service: m[2] } : undefined;
}

/** The fields of a DynamoDB or SSM JSON request that name what it acts on (never an item's other values). */
function jsonBody(service: string, raw: Buffer): Record<string, unknown> | undefined {
  if (raw.length === 0) return undefined;
  const parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (service === 'dynamodb') {
    for (const field of ['TableName', 'Key', 'ConsistentRead', 'ConditionExpression', 'ReturnValues']) {
      if (parsed[field] !== undefined) out[field] = parsed[field];
    }
    const item = parsed.Item as Record<string, unknown> | undefined;
    if (item) {
      // The partition key with its value (the leading key a policy conditions on); other attributes by name.
      out.Item = Object.fromEntries(Object.entries(item).map(([name, value]) => [name, name === 'LockID' ? value : '*']));
    }
    const names = parsed.ExpressionAttributeNames;
    if (names !== undefined) out.ExpressionAttributeNames = names;
    if (parsed.ExpressionAttributeValues !== undefined) out.ExpressionAttributeValues = '*';
  } else {
    for (const field of ['Name', 'Names', 'WithDecryption', 'Path']) {
      if (parsed[field] !== undefined) out[field] = parsed[field];
    }
  }
  return out;
}

function recordedHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (DROPPED.has(lower) || value === undefined) continue;
    if (KEPT_VALUES.has(lower)) {
      out[lower] = Array.isArray(value) ? value.join(',') : value;
    } else if (lower.startsWith('x-amz-')) {
      out[lower] = '*';
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Decides a request before it is forwarded: a message to answer it with AccessDenied
 * (S3's 403, DynamoDB's AccessDeniedException), or undefined to forward it. For runs
 * of the real Terraform under a grant's policies, evaluated by the test's IAM evaluator.
 */
export type Authorizer = (accessKeyId: string, request: RecordedRequest) => Promise<string | undefined>;

/** AWS's answer to a denied request, in the service's own error format. */
function accessDenied(service: string, message: string): { status: number; headers: Record<string, string>; body: string } {
  if (service === 's3') {
    return {
      status: 403,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message}</Message><RequestId>DENIED</RequestId></Error>`,
    };
  }
  return {
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', message }),
  };
}

/** Starts the proxy in front of `upstream` (moto's endpoint); with `authorize`, denied requests never reach moto. */
export async function startRecordingProxy(upstream: string, authorize?: Authorizer): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const labels = new Map<string, string>();
  const recorded: RecordedEntry[] = [];
  /** Each open connection, with the access key of the last request it sent (undefined: none yet). */
  const open = new Map<Socket, string | undefined>();
  const server = http.createServer((req, res) => {
    // The label when the request arrived, not when moto answered: a request sent just
    // before the label changed (by a Terraform SIGKILLed meanwhile) is not the next operation's.
    const arrivedScope = credentialScope(req.headers.authorization);
    if (arrivedScope) open.set(req.socket, arrivedScope.accessKeyId);
    const arrivedLabel = arrivedScope ? labels.get(arrivedScope.accessKeyId) ?? '' : '';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const scope = arrivedScope;
      const service = scope?.service ?? 'unsigned';
      const label = arrivedLabel;
      const requestOf = (status: number, answerHeaders?: http.IncomingHttpHeaders): RecordedRequest => {
        const isObjectRead = service === 's3' && (req.method === 'GET' || req.method === 'HEAD') && url.pathname.split('/').length > 2;
        const responseHeaders = isObjectRead && answerHeaders
          ? Object.fromEntries(RESPONSE_KEPT.filter((h) => answerHeaders[h] !== undefined).map((h) => [h, String(answerHeaders[h])]))
          : undefined;
        return {
          service,
          method: req.method ?? 'GET',
          path: decodeURIComponent(url.pathname),
          query: Object.fromEntries([...url.searchParams.entries()].sort(([a], [b]) => a.localeCompare(b))),
          headers: recordedHeaders(req.headers),
          ...(service === 's3' ? {} : { body: jsonBody(service, body) }),
          status,
          ...(responseHeaders && Object.keys(responseHeaders).length > 0 ? { responseHeaders } : {}),
        };
      };
      const record = (status: number, answerHeaders?: http.IncomingHttpHeaders) => {
        if (!scope) return;
        recorded.push({ accessKeyId: scope.accessKeyId, label, request: requestOf(status, answerHeaders) });
      };
      const send = () => {
        const forward = http.request({
          host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers,
        }, (answer) => {
          const answerChunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => answerChunks.push(c));
          answer.on('end', () => {
            record(answer.statusCode ?? 0, answer.headers);
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(answerChunks));
          });
        });
        forward.on('error', () => {
          record(0);
          res.writeHead(502);
          res.end();
        });
        forward.end(body);
      };
      const pending = scope && authorize ? authorize(scope.accessKeyId, requestOf(0)) : Promise.resolve(undefined);
      pending.then((denied) => {
        if (denied === undefined) {
          send();
          return;
        }
        const answer = accessDenied(service, denied);
        record(answer.status);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      }, (e: Error) => {
        res.writeHead(500);
        res.end(String(e.message));
      });
    });
  });
  server.on('connection', (socket: Socket) => {
    open.set(socket, undefined);
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    label: (accessKeyId, label) => labels.set(accessKeyId, label),
    entries: () => recorded,
    settled: async (accessKeyId, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      const busy = () => [...open.values()].filter((k) => k === undefined || k === accessKeyId).length;
      while (busy() > 0) {
        if (Date.now() > deadline) {
          throw new Error(`recording proxy: ${busy()} connection(s) that may carry requests of ${accessKeyId} still open after ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
