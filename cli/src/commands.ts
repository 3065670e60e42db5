/**
 * The command lines: every command's options and arguments, in one table. A new command
 * is a row here, its help text in help.ts and its permissions in permissions.ts (the
 * three are keyed by `CommandName`, so none can be forgotten), and its file `cmd-*.ts`.
 */

/** An option as Node's `util.parseArgs` takes it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

/** The options that name the backend; every command takes them. */
export const BACKEND_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'bucket': { type: 'string' },
  'table': { type: 'string' },
  'region': { type: 'string' },
  'lockfile': { type: 'boolean' },
  'encrypt': { type: 'boolean' },
  'kms-key-id': { type: 'string' },
  'workspace-key-prefix': { type: 'string' },
  'backend-config': { type: 'string' },
  'discovery': { type: 'string' },
  'path-style': { type: 'boolean' },
};

/** The backend attribute each backend option sets, so `--dynamodb-table` finds `--table`. */
export const OPTION_ATTRIBUTES: Readonly<Record<string, string>> = {
  'bucket': 'bucket',
  'table': 'dynamodb_table',
  'region': 'region',
  'lockfile': 'use_lockfile',
  'encrypt': 'encrypt',
  'kms-key-id': 'kms_key_id',
  'workspace-key-prefix': 'workspace_key_prefix',
  'path-style': 'use_path_style',
};

/** Options every command takes besides the backend's. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface CommandSpec {
  /** The command's own options. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** How many positional arguments it takes, and their names in messages. */
  readonly positionals: { readonly max: number; readonly names: string };
  /**
   * The command works on the state's locks, so the backend must name where they are (a
   * table, lock files or both): why, for the refusal of a backend that names neither.
   */
  readonly needsLock?: string;
  /** The command needs the lock table (dynamodb_table): why, for the refusal of a backend without one. */
  readonly needsTable?: string;
  /**
   * The command does not act on an existing backend, so it takes none of BACKEND_OPTIONS
   * (bootstrap makes the backend: its own --bucket, --table and --region name what to make).
   */
  readonly makesBackend?: boolean;
}

/** The options that run `locks` and `inventory` on several backends at once (fleet.ts). */
export const FLEET_OPTIONS = {
  'accounts': { type: 'string' },
  'organization': { type: 'boolean' },
  'role-name': { type: 'string' },
  'regions': { type: 'string' },
} as const satisfies Record<string, OptionSpec>;

export const COMMANDS = {
  'locks': {
    options: { 'older-than': { type: 'string' }, ...FLEET_OPTIONS },
    positionals: { max: 0, names: '' },
    needsLock: 'so there is nowhere to look for locks',
  },
  'inventory': {
    options: {
      'prefix': { type: 'string' }, 'stale-after': { type: 'string' }, 'locked': { type: 'boolean' }, 'mismatch': { type: 'boolean' },
      'sort': { type: 'string' }, ...FLEET_OPTIONS,
    },
    positionals: { max: 0, names: '' },
  },
  'unlock': {
    options: { id: { type: 'string' } },
    positionals: { max: 1, names: '<state path>' },
    needsLock: 'so there is nowhere to look for locks',
  },
  'history': {
    options: { workspace: { type: 'string' }, limit: { type: 'string' } },
    positionals: { max: 1, names: '[<key>]' },
  },
  'restore': {
    options: {
      'workspace': { type: 'string' }, 'version-id': { type: 'string' }, 'allow-other-lineage': { type: 'boolean' }, 'keep-serial': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
    },
    positionals: { max: 1, names: '[<key>]' },
    needsLock: 'and restore takes the state\'s lock, as Terraform does',
  },
  'diff': {
    options: { workspace: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, values: { type: 'boolean' } },
    positionals: { max: 1, names: '[<key>]' },
  },
  'digest': {
    options: { workspace: { type: 'string' }, fix: { type: 'boolean' } },
    positionals: { max: 1, names: '[<key>]' },
    needsTable: 'Terraform keeps the state digest (<bucket>/<state path>-md5) in the DynamoDB table (dynamodb_table)',
  },
  'prune-locks': {
    options: { 'older-than': { type: 'string' }, 'prefix': { type: 'string' }, 'delete': { type: 'boolean' } },
    positionals: { max: 0, names: '' },
  },
  'bootstrap': {
    options: {
      'locking': { type: 'string' },
      'encryption': { type: 'string' },
      'stack-name': { type: 'string' },
      'region': { type: 'string' },
      'bucket': { type: 'string' },
      'table': { type: 'string' },
      'state-key': { type: 'string' },
      'organization-id': { type: 'string' },
      'discovery-prefix': { type: 'string' },
      'noncurrent-version-expiration-days': { type: 'string' },
      'noncurrent-versions-to-retain': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'yes': { type: 'boolean', short: 'y' },
      'write-backend-tf': { type: 'string' },
      'write-backend-config': { type: 'string' },
    },
    positionals: { max: 0, names: '' },
    makesBackend: true,
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/** The commands that act on an existing backend's state and locks (all but bootstrap). */
export type StateCommandName = Exclude<CommandName, 'bootstrap'>;

export const STATE_COMMAND_NAMES = COMMAND_NAMES.filter((c): c is StateCommandName => c !== 'bootstrap');

export function isCommand(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(COMMANDS, name);
}

/** Every option `command` takes: the backend's (unless it makes the backend), the common ones and its own. */
export function optionsOf(command: CommandName): Record<string, OptionSpec> {
  const spec: CommandSpec = COMMANDS[command];
  return { ...(spec.makesBackend ? {} : BACKEND_OPTIONS), ...COMMON_OPTIONS, ...spec.options };
}

/** Every option of any command (to find the command in a command line before knowing it), and --version. */
export function allOptions(): Record<string, OptionSpec> {
  return Object.assign({ version: { type: 'boolean' } }, BACKEND_OPTIONS, COMMON_OPTIONS, ...COMMAND_NAMES.map((c) => COMMANDS[c].options));
}

/** The commands, other than `command`, that take option `name`. */
export function commandsWithOption(name: string, except?: CommandName): CommandName[] {
  return COMMAND_NAMES.filter((c) => c !== except && Object.prototype.hasOwnProperty.call(COMMANDS[c].options, name));
}
