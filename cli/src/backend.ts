/**
 * The backend a command works on: from flags, from the backend configuration file
 * the construct emits (`renderBackendConfigFile()`, also accepted: the whole
 * `terraform { backend "s3" { ... } }` block), or from the discovery parameters.
 */
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { aws, ClientFactory } from './aws';
import { closest } from './closest';
import { CliError, ExitCode, usageError } from './errors';

/** The backend settings the commands use. */
export interface Backend {
  readonly bucket: string;
  /** Undefined: the SDK's region (AWS_REGION, the profile's region). */
  readonly region?: string;
  /** `dynamodb_table`. */
  readonly table?: string;
  /** `use_lockfile`. */
  readonly useLockfile: boolean;
  /** `encrypt`. */
  readonly encrypt: boolean;
  /** `kms_key_id`. */
  readonly kmsKeyId?: string;
  /** `workspace_key_prefix`; Terraform's default is `env:`. */
  readonly workspaceKeyPrefix: string;
  /** `key`: the default state key of the commands that take a key. */
  readonly key?: string;
  /** S3 path-style URLs (`use_path_style`, `--path-style`, AWS_S3_FORCE_PATH_STYLE). */
  readonly pathStyle: boolean;
  /** Where the settings the flags did not set come from: the file, or the discovery parameter(s). */
  readonly from?: string;
}

/** Settings as a source gives them: every one optional. */
export interface BackendSettings {
  bucket?: string;
  region?: string;
  table?: string;
  useLockfile?: boolean;
  encrypt?: boolean;
  kmsKeyId?: string;
  workspaceKeyPrefix?: string;
  key?: string;
  pathStyle?: boolean;
}

type Kind = 'string' | 'bool';
const HCL_ATTRIBUTES: Record<string, [keyof BackendSettings, Kind]> = {
  bucket: ['bucket', 'string'],
  key: ['key', 'string'],
  region: ['region', 'string'],
  dynamodb_table: ['table', 'string'],
  use_lockfile: ['useLockfile', 'bool'],
  encrypt: ['encrypt', 'bool'],
  kms_key_id: ['kmsKeyId', 'string'],
  workspace_key_prefix: ['workspaceKeyPrefix', 'string'],
  use_path_style: ['pathStyle', 'bool'],
  force_path_style: ['pathStyle', 'bool'],
};

/**
 * The other arguments of the s3 backend: real ones, which this tool does not use
 * (credentials, endpoints, retries, proxies, tags ... come from the AWS SDK's environment
 * or do not matter to it). The union of Terraform's schema
 * (hashicorp/terraform internal/backend/remote-state/s3/backend.go, ConfigSchema, as of
 * 1.11) and OpenTofu's (opentofu/opentofu, the same file: also `state_tags`, `lock_tags`
 * and the older top-level assume-role arguments), so that a real argument of either is
 * never called a typo. A name in neither is refused, as Terraform refuses it
 * ("Unsupported argument ... Did you mean ...?").
 */
export const OTHER_S3_ARGUMENTS: readonly string[] = [
  'access_key', 'acl', 'allowed_account_ids', 'assume_role', 'assume_role_duration_seconds', 'assume_role_policy',
  'assume_role_policy_arns', 'assume_role_tags', 'assume_role_transitive_tag_keys', 'assume_role_with_web_identity',
  'custom_ca_bundle', 'dynamodb_endpoint', 'ec2_metadata_service_endpoint', 'ec2_metadata_service_endpoint_mode', 'endpoint',
  'endpoints', 'external_id', 'forbidden_account_ids', 'http_proxy', 'https_proxy', 'iam_endpoint', 'insecure', 'lock_tags',
  'max_retries', 'no_proxy', 'profile', 'retry_mode', 'role_arn', 'secret_key', 'session_name', 'shared_config_files',
  'shared_credentials_file', 'shared_credentials_files', 'skip_credentials_validation', 'skip_metadata_api_check',
  'skip_region_validation', 'skip_requesting_account_id', 'skip_s3_checksum', 'sse_customer_key', 'state_tags', 'sts_endpoint',
  'sts_region', 'token', 'use_dualstack_endpoint', 'use_fips_endpoint',
];

/** Every argument of the s3 backend: the ones this tool reads, then the others. */
const S3_ARGUMENTS: readonly string[] = [...Object.keys(HCL_ATTRIBUTES), ...OTHER_S3_ARGUMENTS];

/** A name that is no argument of the s3 backend, with the one likely meant. */
function notAnArgument(where: string, name: string): string {
  const meant = closest(name, S3_ARGUMENTS);
  return `${where}: \`${name}\` is not an argument of the s3 backend${meant ? `; did you mean \`${meant}\`?` : ' (Terraform\'s and OpenTofu\'s)'}`;
}

/** The result of reading a backend configuration file. */
export interface ParsedBackendConfig {
  readonly settings: BackendSettings;
  /** Attributes (and blocks) the tool does not use, in file order. */
  readonly ignored: string[];
}

/**
 * Reads the attribute lines of a backend configuration: `name = "string"`,
 * `name = true|false` (a quoted "true"/"false" too, as HCL converts it), comments
 * (`#`, `//`, `/* *\/` on one line), and the `terraform {` / `backend "s3" {` / `}`
 * lines around them. The s3 backend's other arguments (`profile`, `assume_role = {...}`,
 * `endpoints = {...}` ...) are skipped and reported in `ignored`; a name that is no
 * argument of the s3 backend is a fault, with the argument likely meant.
 */
export function parseBackendConfig(text: string, source: string): ParsedBackendConfig {
  const settings: BackendSettings = {};
  const ignored: string[] = [];
  const seen = new Set<string>();
  const faults: string[] = [];
  let skipDepth = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const where = `${source}:${index + 1}`;
    const line = stripComment(raw).trim();
    if (line === '') {
      return;
    }
    if (skipDepth > 0) {
      skipDepth += countBraces(line);
      return;
    }
    if (line === '}' || /^terraform\s*\{$/.test(line) || /^backend\s+"s3"\s*\{$/.test(line)) {
      return;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$/.exec(line);
    const block = /^([A-Za-z_][A-Za-z0-9_-]*)\s*\{$/.exec(line);
    if (block) {
      if (!S3_ARGUMENTS.includes(block[1])) {
        faults.push(notAnArgument(where, block[1]));
      }
      ignored.push(block[1]);
      skipDepth = 1;
      return;
    }
    if (!m) {
      faults.push(`${where}: cannot read ${JSON.stringify(raw.trim())}: expected \`name = value\``);
      return;
    }
    const [, name, valueText] = m;
    const known = HCL_ATTRIBUTES[name];
    if (!known) {
      if (!OTHER_S3_ARGUMENTS.includes(name)) {
        faults.push(notAnArgument(where, name));
      }
      ignored.push(name);
      const depth = countBraces(valueText);
      if (depth > 0) {
        skipDepth = depth;
      }
      return;
    }
    if (seen.has(name)) {
      faults.push(`${where}: \`${name}\` is set twice`);
      return;
    }
    seen.add(name);
    let value: string | boolean;
    try {
      value = parseHclValue(valueText);
    } catch (e) {
      faults.push(`${where}: \`${name}\`: ${(e as Error).message}`);
      return;
    }
    const [prop, kind] = known;
    if (kind === 'bool') {
      const b = typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : undefined;
      if (b === undefined) {
        faults.push(`${where}: \`${name}\` must be true or false, got ${JSON.stringify(value)}`);
        return;
      }
      (settings as Record<string, unknown>)[prop] = b;
    } else {
      if (typeof value !== 'string') {
        faults.push(`${where}: \`${name}\` must be a string, got ${value}`);
        return;
      }
      (settings as Record<string, unknown>)[prop] = value;
    }
  });
  if (skipDepth > 0) {
    faults.push(`${source}: a block is not closed (missing \`}\`)`);
  }
  if (faults.length > 0) {
    throw usageError(`cannot use the backend configuration ${source}:\n  ${faults.join('\n  ')}`);
  }
  return { settings, ignored };
}

/** The line without a trailing comment (outside string literals). */
function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inString) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        inString = false;
      }
      continue;
    }
    if (c === '"') {
      inString = true;
    } else if (c === '#' || (c === '/' && (line[i + 1] === '/' || line[i + 1] === '*'))) {
      if (c === '/' && line[i + 1] === '*') {
        const end = line.indexOf('*/', i + 2);
        if (end >= 0) {
          return line.slice(0, i) + stripComment(line.slice(end + 2));
        }
      }
      return line.slice(0, i);
    }
  }
  return line;
}

/** Opening minus closing braces and brackets outside string literals (a value that spans lines). */
function countBraces(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return depth;
}

/** An HCL literal: a quoted string (with HCL's escapes) or true/false. */
export function parseHclValue(text: string): string | boolean {
  const t = text.trim();
  if (t === 'true' || t === 'false') {
    return t === 'true';
  }
  if (!t.startsWith('"')) {
    throw new Error(`expected a quoted string or true/false, got \`${t}\``);
  }
  let out = '';
  let i = 1;
  for (; i < t.length; i++) {
    const c = t[i];
    if (c === '"') {
      break;
    }
    if (c === '\\') {
      const n = t[++i];
      switch (n) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'u': case 'U': {
          const len = n === 'u' ? 4 : 8;
          const hex = t.slice(i + 1, i + 1 + len);
          if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) {
            throw new Error(`bad escape \\${n}${hex}`);
          }
          out += String.fromCodePoint(parseInt(hex, 16));
          i += len;
          break;
        }
        default: throw new Error(`bad escape \\${n ?? ''}`);
      }
      continue;
    }
    if ((c === '$' || c === '%') && t[i + 1] === '{') {
      throw new Error('templates (`${...}`, `%{...}`) are not allowed in a backend configuration');
    }
    if ((c === '$' || c === '%') && t[i + 1] === c && t[i + 2] === '{') {
      out += `${c}{`;
      i += 2;
      continue;
    }
    out += c;
  }
  if (i >= t.length) {
    throw new Error('unterminated string');
  }
  if (t.slice(i + 1).trim() !== '') {
    throw new Error(`unexpected \`${t.slice(i + 1).trim()}\` after the string`);
  }
  return out;
}

/** Where the backend comes from, as the command line gives it. */
export interface BackendSources {
  readonly flags: BackendSettings;
  readonly backendConfigFile?: string;
  readonly discoveryPrefix?: string;
}

export interface ResolveContext {
  readonly readFile: (file: string) => string;
  readonly clients: ClientFactory;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly warn: (message: string) => void;
}

/** The names of the discovery parameters the construct publishes under its prefix. */
export const DISCOVERY_PARAMETERS = ['backend-config', 'bucket', 'region', 'lock-table', 'kms-key-arn'] as const;

/** Reads the backend from the discovery parameters under `prefix`. */
export async function discoverBackend(prefix: string, region: string | undefined, ctx: ResolveContext): Promise<BackendSettings & { from: string }> {
  if (!prefix.startsWith('/')) {
    throw usageError(`--discovery must be a parameter path prefix starting with "/", got ${JSON.stringify(prefix)}`);
  }
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const names = DISCOVERY_PARAMETERS.map((n) => `${base}${n}`);
  const ssm = ctx.clients.ssm({ region });
  const out = await aws({ action: 'ssm:GetParameters', resource: `arn:aws:ssm:${region ?? '<region>'}:<account>:parameter${base}*` },
    () => ssm.send(new GetParametersCommand({ Names: names })));
  const values = new Map((out.Parameters ?? []).map((p) => [p.Name!, p.Value ?? '']));
  const config = values.get(`${base}backend-config`);
  if (config !== undefined) {
    const parsed = parseBackendConfig(config, `${base}backend-config`);
    return { ...parsed.settings, from: `the discovery parameter ${base}backend-config` };
  }
  const bucket = values.get(`${base}bucket`);
  if (bucket === undefined) {
    throw new CliError(`no discovery parameters under ${base}${region ? ` in ${region}` : ''}: neither ${base}backend-config nor ${base}bucket exists. `
      + 'Check --discovery (the construct\'s `discoveryPrefix`) and --region (or AWS_REGION).', ExitCode.NOT_FOUND);
  }
  return {
    bucket,
    region: values.get(`${base}region`),
    table: values.get(`${base}lock-table`),
    kmsKeyId: values.get(`${base}kms-key-arn`),
    encrypt: true,
    from: `the discovery parameters under ${base}`,
  };
}

/** Flags over the file (or discovery) over Terraform's defaults. */
export async function resolveBackend(sources: BackendSources, ctx: ResolveContext): Promise<Backend> {
  if (sources.backendConfigFile !== undefined && sources.discoveryPrefix !== undefined) {
    throw usageError('--backend-config and --discovery both name a backend: use one of them');
  }
  let base: BackendSettings = {};
  let from: string | undefined;
  /** The file sets nothing at all. */
  let empty = false;
  if (sources.backendConfigFile !== undefined) {
    let text: string;
    try {
      text = ctx.readFile(sources.backendConfigFile);
    } catch (e) {
      throw usageError(`cannot read the backend configuration ${sources.backendConfigFile}: ${(e as Error).message}`);
    }
    const parsed = parseBackendConfig(text, sources.backendConfigFile);
    if (parsed.ignored.length > 0) {
      ctx.warn(`${sources.backendConfigFile}: ignoring ${parsed.ignored.map((n) => `\`${n}\``).join(', ')}; `
        + 'credentials, profile and endpoints come from the AWS SDK\'s environment (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL)');
    }
    base = parsed.settings;
    from = sources.backendConfigFile;
    empty = Object.keys(parsed.settings).length === 0 && parsed.ignored.length === 0;
  } else if (sources.discoveryPrefix !== undefined) {
    const { from: parameters, ...discovered } = await discoverBackend(sources.discoveryPrefix, sources.flags.region, ctx);
    base = discovered;
    from = parameters;
  }
  const merged: BackendSettings = { ...base };
  for (const [k, v] of Object.entries(sources.flags)) {
    if (v !== undefined) {
      (merged as Record<string, unknown>)[k] = v;
    }
  }
  if (!merged.bucket) {
    if (sources.backendConfigFile !== undefined) {
      throw usageError(`the backend configuration ${sources.backendConfigFile} ${empty ? 'is empty: it sets no `bucket` (nor anything else)' : 'sets no `bucket`'}. `
        + 'Use the backend configuration the stack emits (its BackendConfigFile output, or the discovery parameter backend-config), or pass --bucket');
    }
    throw usageError('no backend: pass --bucket (with --table and/or --lockfile), --backend-config FILE, or --discovery PREFIX');
  }
  // Terraform's default; an empty prefix is valid (workspace state is then `<workspace>/<key>`).
  const prefix = merged.workspaceKeyPrefix ?? 'env:';
  if (prefix.startsWith('/') || prefix.endsWith('/')) {
    throw usageError(`the workspace key prefix (workspace_key_prefix, --workspace-key-prefix) must not start or end with "/", got ${JSON.stringify(prefix)}`);
  }
  return {
    bucket: merged.bucket,
    region: merged.region || undefined,
    table: merged.table || undefined,
    useLockfile: merged.useLockfile ?? false,
    encrypt: merged.encrypt ?? false,
    kmsKeyId: merged.kmsKeyId || undefined,
    workspaceKeyPrefix: prefix,
    key: merged.key || undefined,
    pathStyle: merged.pathStyle ?? /^(true|1)$/i.test(ctx.env.AWS_S3_FORCE_PATH_STYLE ?? ''),
    ...(from !== undefined ? { from } : {}),
  };
}

/**
 * The object key of a workspace's state, as Terraform's s3 backend builds it
 * (backend_state.go `path`): `<key>` for the default workspace, otherwise Go's
 * `path.Join(prefix, workspace, key)`: `<prefix>/<workspace>/<key>`, or
 * `<workspace>/<key>` with an empty prefix, cleaned as path.Join cleans.
 */
export function statePath(key: string, workspace: string | undefined, workspaceKeyPrefix: string): string {
  const faults: string[] = [];
  if (key === '' || key.startsWith('/') || key.endsWith('/') || key.includes('//')) {
    faults.push(`the state key must not be empty, start or end with "/" or contain "//", got ${JSON.stringify(key)}`);
  }
  if (workspace !== undefined && (workspace === '' || workspace.includes('/'))) {
    faults.push(`the workspace must be a name without "/", got ${JSON.stringify(workspace)}`);
  }
  if (faults.length > 0) {
    throw usageError(faults.join('; '));
  }
  return workspace === undefined || workspace === 'default' ? key : joinPath(workspaceKeyPrefix, workspace, key);
}

/**
 * The workspace and key of a state object key: the inverse of `statePath`.
 * `<prefix>/<workspace>/<key>` is workspace `<workspace>`, key `<key>`; anything else is
 * the default workspace, its key the whole path. With an empty prefix a workspace's state
 * is `<workspace>/<key>`, which a default-workspace key with a "/" looks like too: the
 * path is a workspace's only when it is `<one segment>/<backendKey>`.
 */
export function splitStatePath(path: string, workspaceKeyPrefix: string, backendKey?: string): { workspace: string; key: string } {
  if (workspaceKeyPrefix !== '') {
    const head = `${workspaceKeyPrefix}/`;
    const rest = path.startsWith(head) ? path.slice(head.length) : undefined;
    const slash = rest?.indexOf('/') ?? -1;
    if (rest !== undefined && slash > 0 && slash < rest.length - 1) {
      return { workspace: rest.slice(0, slash), key: rest.slice(slash + 1) };
    }
    return { workspace: 'default', key: path };
  }
  if (backendKey !== undefined && path.endsWith(`/${backendKey}`)) {
    const workspace = path.slice(0, -backendKey.length - 1);
    if (workspace !== '' && !workspace.includes('/')) {
      return { workspace, key: backendKey };
    }
  }
  return { workspace: 'default', key: path };
}

/**
 * Go's `path.Join` for elements that do not start with "/" (Terraform's key and prefix
 * may not): empty elements are dropped, then the result is cleaned (`.` removed, `..`
 * resolved, repeated slashes collapsed).
 */
export function joinPath(...elements: readonly string[]): string {
  const out: string[] = [];
  for (const part of elements.filter((e) => e !== '').join('/').split('/')) {
    if (part === '' || part === '.') {
      continue;
    }
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') {
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.length > 0 ? out.join('/') : '.';
}
