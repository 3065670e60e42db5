/**
 * The backend's CloudFormation templates this package ships (`templates/`, copied from the
 * repository's generated templates/ by the package's build; scripts/check-pack-cli.js
 * proves the tarball holds them byte for byte), and the choice of one by its settings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { closest } from './closest';
import { usageError } from './errors';

export const LOCKING_MODES = ['DYNAMODB', 'S3_LOCKFILE', 'DYNAMODB_AND_S3_LOCKFILE'] as const;
export type Locking = typeof LOCKING_MODES[number];
export const ENCRYPTIONS = ['S3_MANAGED', 'KMS'] as const;
export type Encryption = typeof ENCRYPTIONS[number];

/** One entry of templates/index.json. */
export interface TemplateEntry {
  readonly file: string;
  readonly kind: string;
  readonly profile: string;
  readonly locking?: string;
  readonly encryption?: string;
  readonly capabilities: readonly string[];
  readonly outputs: Readonly<Record<string, string>>;
}

export interface CfnParameter {
  readonly Type: string;
  readonly Default?: string | number;
  readonly AllowedPattern?: string;
  readonly AllowedValues?: readonly string[];
  readonly ConstraintDescription?: string;
  readonly MinLength?: number;
  readonly MaxLength?: number;
  readonly MinValue?: number;
  readonly MaxValue?: number;
}

export interface Template {
  readonly entry: TemplateEntry;
  /** The template as it is shipped, byte for byte: the TemplateBody. */
  readonly body: string;
  readonly parameters: Readonly<Record<string, CfnParameter>>;
  readonly resources: Readonly<Record<string, { Type: string; Properties?: Record<string, unknown> }>>;
}

/**
 * The templates folder: the package's own (`<package>/templates`, shipped in the tarball);
 * in a clone where the CLI is not built yet, the repository's generated templates/.
 */
export function templatesDir(): string {
  const shipped = path.join(__dirname, '..', 'templates');
  if (fs.existsSync(path.join(shipped, 'index.json'))) {
    return shipped;
  }
  const repo = path.join(__dirname, '..', '..', 'templates');
  if (fs.existsSync(path.join(repo, 'index.json'))) {
    return repo;
  }
  throw usageError(`the backend templates are missing: neither ${shipped} nor ${repo} holds index.json. `
    + 'Reinstall the package (or, in the repository, run `npm run build:cli`)');
}

/** `value` if it is one of `allowed`, else a usage error naming the flag, the value, the allowed values and the closest. */
export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  const upper = value.toUpperCase().replace(/-/g, '_');
  const match = (allowed as readonly string[]).includes(upper) ? upper : closest(value, allowed);
  throw usageError(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}${match ? `; did you mean ${flag} ${match}?` : ''}`);
}

/** The backend template for these settings (the default profile: the hardened one needs a replica stack in another region first). */
export function backendTemplate(locking: Locking, encryption: Encryption, dir = templatesDir()): Template {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { templates: TemplateEntry[] };
  const entry = index.templates.find((t) => t.kind === 'backend' && t.profile === 'default' && t.locking === locking && t.encryption === encryption);
  if (entry === undefined) {
    throw usageError(`no template for --locking ${locking} --encryption ${encryption} in ${dir}/index.json`);
  }
  const body = fs.readFileSync(path.join(dir, entry.file), 'utf8');
  const parsed = JSON.parse(body);
  return { entry, body, parameters: parsed.Parameters ?? {}, resources: parsed.Resources ?? {} };
}

/** Why `value` is not a valid value of parameter `p` (as CloudFormation would judge it), or undefined when it is. */
export function parameterFault(p: CfnParameter, value: string): string | undefined {
  if (p.Type === 'Number') {
    if (!/^\d+$/.test(value)) return 'a whole number';
    const n = Number(value);
    if (p.MinValue !== undefined && n < p.MinValue) return `at least ${p.MinValue}`;
    if (p.MaxValue !== undefined && n > p.MaxValue) return `at most ${p.MaxValue}`;
    return undefined;
  }
  if (p.MinLength !== undefined && value.length < p.MinLength) return `at least ${p.MinLength} characters`;
  if (p.MaxLength !== undefined && value.length > p.MaxLength) return `at most ${p.MaxLength} characters`;
  if (p.AllowedValues !== undefined && !p.AllowedValues.includes(value)) return `one of ${p.AllowedValues.join(', ')}`;
  if (p.AllowedPattern !== undefined && !new RegExp(`^(?:${p.AllowedPattern})$`).test(value)) return p.ConstraintDescription ?? `to match ${p.AllowedPattern}`;
  return undefined;
}
