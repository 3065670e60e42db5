/**
 * What each command needs from IAM, command by command: the one source of the
 * "Permissions" of every `--help` and of the "Permissions" tables of cli/README.md and
 * docs/on-call.md (a test checks both against `permissionsTable()`, and runs each command on emulated AWS as a
 * caller whose policy is exactly these grants).
 */
import { CommandName, COMMAND_NAMES, COMMANDS, FLEET_OPTIONS, STATE_COMMAND_NAMES, StateCommandName } from './commands';

/** What a grant is on, in a backend. */
export type Resource = 'bucket' | 'state' | 'states' | 'lock file' | 'lock files' | 'table' | 'key' | 'parameters' | 'role' | 'organization' | 'stack' | 'made bucket' | 'made table' | 'made parameters' | 'made key';

/** One or more actions on one resource. */
export interface Grant {
  readonly actions: readonly string[];
  readonly on: Resource;
  /** When it is needed, if not always (`with --fix`, `on a mismatch`, `with a KMS key`). */
  readonly when?: string;
}

/** A command's grants: by how the backend locks, and whatever it locks with. */
export interface CommandPermissions {
  /** With a lock table (`dynamodb_table`). */
  readonly table: readonly Grant[];
  /** With lock files (`use_lockfile`). */
  readonly lockfile: readonly Grant[];
  /** Whatever the locking. */
  readonly always: readonly Grant[];
}

/**
 * A KMS key: the bucket's default key, or `kms_key_id`. S3 decrypts with `kms:Decrypt` on
 * every read of an SSE-KMS object and asks for a data key (`kms:GenerateDataKey`) on every
 * SSE-KMS write.
 */
const WITH_KEY = 'with a KMS key';

/**
 * Without s3:ListBucket on the bucket, S3 answers a GetObject of a key that does not exist
 * with 403 instead of 404 (S3 API reference, GetObject and HeadObject): a command that
 * reads an object which may be missing (a lock file, a state not written yet) needs it to
 * tell "absent" from "denied".
 */
const LIST_FOR_ABSENT: Grant = { actions: ['s3:ListBucket'], on: 'bucket' };

export const PERMISSIONS: Readonly<Record<StateCommandName, CommandPermissions>> = {
  'locks': {
    table: [{ actions: ['dynamodb:Scan'], on: 'table' }],
    lockfile: [
      { actions: ['s3:ListBucket'], on: 'bucket' },
      { actions: ['s3:GetObject'], on: 'lock files' },
      { actions: ['kms:Decrypt'], on: 'key', when: WITH_KEY },
    ],
    always: [],
  },
  'inventory': {
    table: [{ actions: ['dynamodb:Scan'], on: 'table' }],
    lockfile: [{ actions: ['s3:GetObject'], on: 'lock files' }],
    always: [
      { actions: ['s3:ListBucket'], on: 'bucket' },
      { actions: ['s3:GetObject'], on: 'states' },
      { actions: ['kms:Decrypt'], on: 'key', when: WITH_KEY },
    ],
  },
  'unlock': {
    table: [{ actions: ['dynamodb:GetItem', 'dynamodb:DeleteItem'], on: 'table' }],
    lockfile: [
      LIST_FOR_ABSENT,
      // DeleteObject with If-Match: a conditional delete needs s3:GetObject as well.
      { actions: ['s3:GetObject', 's3:DeleteObject'], on: 'lock file' },
      { actions: ['kms:Decrypt'], on: 'key', when: WITH_KEY },
    ],
    always: [],
  },
  'history': {
    table: [],
    lockfile: [],
    always: [
      { actions: ['s3:ListBucketVersions'], on: 'bucket' },
      { actions: ['s3:GetObjectVersion'], on: 'state' },
      { actions: ['kms:Decrypt'], on: 'key', when: WITH_KEY },
    ],
  },
  'restore': {
    table: [{ actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'], on: 'table' }],
    lockfile: [{ actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'], on: 'lock file' }],
    always: [
      LIST_FOR_ABSENT,
      { actions: ['s3:GetObjectVersion', 's3:GetObject', 's3:PutObject'], on: 'state' },
      { actions: ['kms:Decrypt', 'kms:GenerateDataKey'], on: 'key', when: WITH_KEY },
    ],
  },
  'diff': {
    table: [],
    lockfile: [],
    always: [
      { actions: ['s3:ListBucketVersions'], on: 'bucket', when: 'without both `--from` and `--to`' },
      { actions: ['s3:GetObjectVersion'], on: 'state' },
      { actions: ['kms:Decrypt'], on: 'key', when: WITH_KEY },
    ],
  },
  'digest': {
    table: [
      { actions: ['dynamodb:GetItem'], on: 'table' },
      { actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], on: 'table', when: 'with `--fix`' },
    ],
    lockfile: [
      { actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'], on: 'lock file', when: 'with `--fix`' },
      { actions: ['kms:GenerateDataKey'], on: 'key', when: `with \`--fix\` and ${WITH_KEY.replace(/^with /, '')}` },
    ],
    always: [
      LIST_FOR_ABSENT,
      { actions: ['s3:GetObject'], on: 'state' },
      { actions: ['s3:ListBucketVersions'], on: 'bucket', when: 'on a mismatch' },
      { actions: ['s3:GetObjectVersion'], on: 'state', when: 'on a mismatch' },
      { actions: ['kms:Decrypt'], on: 'key', when: WITH_KEY },
    ],
  },
  'prune-locks': {
    table: [],
    lockfile: [],
    always: [
      { actions: ['s3:ListBucketVersions'], on: 'bucket' },
      // DeleteObjects by version ID is authorized as s3:DeleteObjectVersion on each key.
      { actions: ['s3:DeleteObjectVersion'], on: 'lock files', when: 'with `--delete`' },
    ],
  },
};

/**
 * What `bootstrap` needs: the CloudFormation calls it makes on the stack, and the actions
 * CloudFormation takes with the same credentials (bootstrap passes no service role) to
 * make the template's resources: the buckets (state and access log) and their policies,
 * the lock table, the discovery parameters and, with KMS, the key and its alias.
 */
export const BOOTSTRAP_PERMISSIONS: readonly Grant[] = [
  {
    actions: ['cloudformation:DescribeStacks', 'cloudformation:ListStackResources', 'cloudformation:GetTemplate', 'cloudformation:CreateChangeSet',
      'cloudformation:DescribeChangeSet', 'cloudformation:DeleteChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DescribeStackEvents'],
    on: 'stack',
  },
  { actions: ['cloudformation:DeleteStack'], on: 'stack', when: 'with `--dry-run` (or no `--yes`) for a new stack' },
  {
    actions: ['s3:CreateBucket', 's3:PutBucketVersioning', 's3:PutEncryptionConfiguration', 's3:PutBucketPublicAccessBlock', 's3:PutLifecycleConfiguration',
      's3:PutBucketLogging', 's3:PutBucketOwnershipControls', 's3:PutBucketPolicy', 's3:GetBucketPolicy'],
    on: 'made bucket',
  },
  { actions: ['dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTable', 'dynamodb:UpdateContinuousBackups', 'dynamodb:DescribeContinuousBackups'],
    on: 'made table', when: 'with `--locking DYNAMODB` or `DYNAMODB_AND_S3_LOCKFILE`' },
  { actions: ['ssm:PutParameter', 'ssm:GetParameters', 'ssm:AddTagsToResource'], on: 'made parameters' },
  { actions: ['kms:CreateKey', 'kms:PutKeyPolicy', 'kms:EnableKeyRotation', 'kms:DescribeKey', 'kms:CreateAlias'], on: 'made key', when: 'with `--encryption KMS`' },
];

/** What `--discovery` adds to any command. */
export const DISCOVERY_PERMISSIONS: readonly Grant[] = [{ actions: ['ssm:GetParameters'], on: 'parameters' }];

/**
 * What several backends at once add (`locks`, `inventory` with `--accounts` or
 * `--organization`): the caller assumes the role in each account, which then needs the
 * command's own grants and `--discovery`'s.
 */
export const FLEET_PERMISSIONS: readonly Grant[] = [
  { actions: ['sts:AssumeRole'], on: 'role' },
  { actions: ['organizations:ListAccounts'], on: 'organization', when: 'with `--organization`' },
];

/** The commands that take the fleet options. */
function takesFleet(command: CommandName): boolean {
  return Object.keys(FLEET_OPTIONS).every((o) => Object.prototype.hasOwnProperty.call(COMMANDS[command].options, o));
}

const RESOURCES: Readonly<Record<Resource, string>> = {
  'bucket': 'the bucket',
  'state': 'the state',
  'states': 'each state object',
  'lock file': 'the state\'s `.tflock`',
  'lock files': 'each `.tflock`',
  'table': 'the table',
  'key': 'the key',
  'parameters': 'the discovery parameters',
  'stack': 'the stack',
  'made bucket': 'the buckets it makes',
  'made table': 'the table it makes',
  'made parameters': 'the discovery parameters it makes',
  'made key': 'the key and alias it makes',
  'role': 'the `--role-name` role of each account (granted to the caller; the role has the command\'s grants and `--discovery`\'s)',
  'organization': 'the organization (`*`; from its management or a delegated administrator account)',
};

/** A grant as the README writes it: "with `--fix`: `dynamodb:PutItem`, `dynamodb:DeleteItem` on the table". */
export function grantText(grant: Grant): string {
  return `${grant.when ? `${grant.when}: ` : ''}${grant.actions.map((a) => `\`${a}\``).join(', ')} on ${RESOURCES[grant.on]}`;
}

function cell(grants: readonly Grant[]): string {
  return grants.map(grantText).join('; ');
}

/** Why the listing appears where it does, under the table and in every help. */
export const LIST_BUCKET_NOTE = 'Without `s3:ListBucket`, S3 answers 403 instead of 404 for an object that does not exist, '
  + 'so the commands that read an object which may be missing (a lock file, a state not yet written) need it.';

/** The "Permissions" table (cli/README.md and docs/on-call.md hold it exactly). */
export function permissionsTable(): string {
  const row = (cells: readonly string[]) => `|${cells.map((c) => (c === '' ? ' ' : ` ${c} `)).join('|')}|`;
  return [
    row(['command', 'with a lock table (`dynamodb_table`)', 'with lock files (`use_lockfile`)', 'either way']),
    '|---|---|---|---|',
    ...STATE_COMMAND_NAMES.map((c) => row([`\`${c}\``, cell(PERMISSIONS[c].table), cell(PERMISSIONS[c].lockfile), cell(PERMISSIONS[c].always)])),
    row(['`--discovery` (any command)', '', '', cell(DISCOVERY_PERMISSIONS)]),
    row([`\`--accounts\`, \`--organization\` (${COMMAND_NAMES.filter(takesFleet).map((c) => `\`${c}\``).join(', ')})`, '', '', cell(FLEET_PERMISSIONS)]),
    '',
  ].join('\n');
}

/** bootstrap's "Permissions" table (cli/README.md and docs/bootstrap.md hold it exactly). */
export function bootstrapPermissionsTable(): string {
  return ['| when | actions | on |', '|---|---|---|',
    ...BOOTSTRAP_PERMISSIONS.map((g) => `| ${g.when ?? 'always'} | ${g.actions.map((a) => `\`${a}\``).join(', ')} | ${RESOURCES[g.on]} |`), ''].join('\n');
}

/** The "Permissions" block of a command's `--help`: the table's row, in plain text, wrapped. */
export function permissionsHelp(command: CommandName): string {
  if (command === 'bootstrap') {
    return ['Permissions (CloudFormation makes the resources with these same credentials: no service role\nis passed; docs/bootstrap.md has the table):',
      ...BOOTSTRAP_PERMISSIONS.map((g) => wrap(`  ${grantText(g).replace(/`/g, '')}`, 4))].join('\n');
  }
  const p = PERMISSIONS[command];
  const plain = (grants: readonly Grant[]) => cell(grants).replace(/`/g, '');
  const lines = [
    'Permissions (the README\'s "Permissions" table):',
    ...([['with a lock table', p.table], ['with lock files', p.lockfile], ['either way', p.always], ['with --discovery', DISCOVERY_PERMISSIONS],
      ...(takesFleet(command) ? [['with --accounts', FLEET_PERMISSIONS] as const] : [])] as const)
      .filter(([, grants]) => grants.length > 0)
      .map(([label, grants]) => wrap(`  ${`${label}:`.padEnd(20)}${plain(grants)}`, 22)),
  ];
  if ([...p.table, ...p.lockfile, ...p.always].includes(LIST_FOR_ABSENT)) {
    lines.push(wrap(`  ${LIST_BUCKET_NOTE.replace(/`/g, '')}`, 2));
  }
  return lines.join('\n');
}

/** Wraps at 92 columns, continuation lines indented by `indent`. */
function wrap(text: string, indent: number): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/(?<=\S) /)) {
    if (line !== '' && line.length + 1 + word.length > 92) {
      out.push(line);
      line = `${' '.repeat(indent)}${word}`;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  out.push(line);
  return out.join('\n');
}
