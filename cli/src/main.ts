/**
 * The command line: `main(argv, io)` parses, runs one command and returns its exit code.
 * Everything it touches comes through `io`, so tests run it in-process with emulated
 * clients, an endpoint in `io.env`, a fixed clock and captured output.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline/promises';
import { parseArgs } from 'util';
import { ClientFactory, cloudFormationClient, sdkClientFactory } from './aws';
import { BackendSettings, resolveBackend, statePath } from './backend';
import { bootstrapCommand, CloudFormationLike } from './cmd-bootstrap';
import { diffCommand } from './cmd-diff';
import { digestCommand } from './cmd-digest';
import { inventoryFleetCommand, locksFleetCommand } from './cmd-fleet';
import { historyCommand } from './cmd-history';
import { inventoryCommand, InventoryCommandOptions } from './cmd-inventory';
import { locksCommand } from './cmd-locks';
import { pruneLocksCommand } from './cmd-prune-locks';
import { restoreCommand } from './cmd-restore';
import { unlockCommand } from './cmd-unlock';
import { closest } from './closest';
import {
  allOptions, BACKEND_OPTIONS, CommandName, COMMAND_NAMES, COMMANDS, CommandSpec, commandsWithOption, isCommand,
  OPTION_ATTRIBUTES, OptionSpec, optionsOf,
} from './commands';
import { CommandContext } from './context';
import { CliError, ExitCode, usageError } from './errors';
import { parseDuration, shellQuote, toJson } from './format';
import { fleetTargets, parseFleetOptions } from './fleet';
import { COMMAND_HELP, MAIN_HELP, TOOL } from './help';
import { INVENTORY_SORTS, InventorySort } from './inventory';

/** Everything main() uses from the outside world. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_S3_FORCE_PATH_STYLE); credentials come from the SDK's chain. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => Date;
  readonly readFile: (file: string) => string;
  /** The AWS clients; default: the SDK's, configured from `env`. */
  readonly clients?: ClientFactory;
  /** `user@host` for the locks this tool takes. */
  readonly who: string;
  /** bootstrap: the CloudFormation client for a region; default: the SDK's, configured from `env`. */
  readonly cloudformation?: (region: string | undefined) => CloudFormationLike;
  /** bootstrap: whether a person can be asked (stdin and stderr are terminals). */
  readonly interactive: boolean;
  /** bootstrap: asks a yes/no question on the terminal. */
  readonly confirm: (question: string) => Promise<boolean>;
  readonly fileExists: (file: string) => boolean;
  /** Writes a new file, failing (EEXIST) if it exists. */
  readonly writeNewFile: (file: string, text: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** Whether stderr is a terminal (a progress line is shown only then). */
  readonly stderrIsTTY?: boolean;
}

/** This tool's version (cli/package.json). */
export function toolVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

function defaultIo(): Io {
  let who: string;
  try {
    who = `${os.userInfo().username}@${os.hostname()}`;
  } catch {
    who = `unknown@${os.hostname()}`;
  }
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    now: () => new Date(),
    readFile: (f) => fs.readFileSync(f, 'utf8'),
    who,
    interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
    confirm: async (question) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    },
    fileExists: (f) => fs.existsSync(f),
    writeNewFile: (f, text) => fs.writeFileSync(f, text, { flag: 'wx' }),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

/** Parses `args` with `options`; an unknown option is named, with the closest known one. */
function parse(args: readonly string[], options: Record<string, OptionSpec>, command: CommandName | undefined): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const err = e as { code?: string; message: string };
    const see = command ? `${TOOL} ${command} --help` : `${TOOL} --help`;
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'(-[^' ]+)'/.exec(err.message)?.[1] ?? '';
      const hint = unknownOptionHint(option, options, command);
      throw usageError(`unknown option ${option}${command ? ` for ${command}` : ''}${hint}${hint.endsWith('?') ? ' See' : '; see'} ${see}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw usageError(`${err.message.replace(/\.$/, '')}; see ${see}`);
    }
    throw usageError(`${err.message}; see ${see}`);
  }
}

/** "; did you mean --lockfile?", " (it is an option of unlock)", or nothing. */
function unknownOptionHint(option: string, options: Record<string, OptionSpec>, command: CommandName | undefined): string {
  const typed = option.replace(/^-+/, '').split('=')[0];
  // The options by their names and by the backend attributes they set (`--dynamodb-table`).
  const names = new Map<string, string>(Object.keys(options).map((o) => [o, o]));
  for (const [o, attribute] of Object.entries(OPTION_ATTRIBUTES)) {
    if (options[o]) {
      names.set(attribute.replace(/_/g, '-'), o);
    }
  }
  const match = closest(typed, names.keys());
  if (match !== undefined) {
    return `; did you mean --${names.get(match)}?`;
  }
  const elsewhere = command ? commandsWithOption(typed, command) : [];
  return elsewhere.length > 0 ? ` (it is an option of ${elsewhere.join(', ')})` : '';
}

function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function flag(values: Parsed['values'], name: string): boolean | undefined {
  return values[name] === true ? true : undefined;
}

/** The backend options as given, to repeat in the commands the tool suggests. */
function backendArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
    if (name && BACKEND_OPTIONS[name]) {
      out.push(a);
      if (BACKEND_OPTIONS[name].type === 'string' && !a.includes('=') && i + 1 < args.length) {
        out.push(args[++i]);
      }
    }
  }
  return out;
}

/**
 * Runs `tfstate-ops` with `argv` (without node and the script) and returns the exit code.
 * Never throws and never calls process.exit.
 */
export async function main(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
  const env = { ...defaultIo(), ...io };
  let json = argv.includes('--json');
  try {
    // Find the command first (leniently), then read the command line by its options.
    const loose = parseArgs({ args: [...argv], options: allOptions(), allowPositionals: true, strict: false });
    const [named] = loose.positionals;
    if (named === undefined || named === 'help') {
      const first = parse(argv, allOptions(), undefined);
      const topic = first.positionals[1];
      if (topic !== undefined && isCommand(topic)) {
        env.stdout(COMMAND_HELP[topic]);
        return ExitCode.OK;
      }
      if (first.values.version) {
        env.stdout(`${toolVersion()}\n`);
        return ExitCode.OK;
      }
      if (first.values.help || named === 'help') {
        env.stdout(MAIN_HELP);
        return ExitCode.OK;
      }
      env.stderr(MAIN_HELP);
      return ExitCode.USAGE;
    }
    if (!isCommand(named)) {
      const match = closest(named, COMMAND_NAMES);
      throw usageError(`unknown command ${JSON.stringify(named)}${match ? `; did you mean ${match}?` : '.'} The commands are ${COMMAND_NAMES.join(', ')} (see ${TOOL} --help)`);
    }
    const command: CommandName = named;
    const parsed = parse(argv, optionsOf(command), command);
    const v = parsed.values;
    json = v.json === true;
    if (v.help) {
      env.stdout(COMMAND_HELP[command]);
      return ExitCode.OK;
    }
    const positionals = parsed.positionals.slice(1);
    const { max, names } = COMMANDS[command].positionals;
    if (positionals.length > max) {
      throw usageError(`${command} takes ${max === 0 ? 'no arguments' : `one argument, ${names}`}, `
        + `got ${positionals.map((p) => JSON.stringify(p)).join(' ')}; see ${TOOL} ${command} --help`);
    }

    if (command === 'bootstrap') {
      return await bootstrapCommand({
        out: env.stdout,
        note: (t) => env.stderr(`${TOOL}: ${t}\n`),
        cloudformation: env.cloudformation ?? ((region) => cloudFormationClient(env.env, region)),
        interactive: env.interactive,
        confirm: env.confirm,
        fileExists: env.fileExists,
        writeNewFile: env.writeNewFile,
        sleep: env.sleep,
        now: env.now,
      }, {
        locking: str(v, 'locking'),
        encryption: str(v, 'encryption'),
        stackName: str(v, 'stack-name'),
        region: str(v, 'region'),
        regionFromEnv: env.env.AWS_REGION || env.env.AWS_DEFAULT_REGION || undefined,
        bucket: str(v, 'bucket'),
        table: str(v, 'table'),
        stateKey: str(v, 'state-key'),
        organizationId: str(v, 'organization-id'),
        discoveryPrefix: str(v, 'discovery-prefix'),
        noncurrentVersionExpirationDays: str(v, 'noncurrent-version-expiration-days'),
        noncurrentVersionsToRetain: str(v, 'noncurrent-versions-to-retain'),
        dryRun: v['dry-run'] === true,
        yes: v.yes === true,
        json,
        writeBackendTf: str(v, 'write-backend-tf'),
        writeBackendConfig: str(v, 'write-backend-config'),
      });
    }

    // Check the command's own arguments before any AWS call.
    let olderThanMs: number | undefined;
    let limit = 20;
    if ((command === 'locks' || command === 'prune-locks') && str(v, 'older-than') !== undefined) {
      olderThanMs = parseDuration(str(v, 'older-than')!, '--older-than');
    }
    let inventory: InventoryCommandOptions | undefined;
    if (command === 'inventory') {
      const sort = str(v, 'sort') ?? 'path';
      if (!(INVENTORY_SORTS as readonly string[]).includes(sort)) {
        const meant = closest(sort, INVENTORY_SORTS);
        throw usageError(`--sort must be one of ${INVENTORY_SORTS.join(', ')}, got ${JSON.stringify(sort)}${meant ? `; did you mean ${meant}?` : ''}`);
      }
      const staleAfter = str(v, 'stale-after');
      inventory = {
        prefix: str(v, 'prefix'),
        staleAfterMs: staleAfter !== undefined ? parseDuration(staleAfter, '--stale-after') : undefined,
        locked: v.locked === true,
        mismatch: v.mismatch === true,
        sort: sort as InventorySort,
      };
    }
    if (command === 'unlock') {
      if (positionals.length === 0) {
        throw usageError(`unlock needs the state path of the lock, as \`${TOOL} locks\` shows it; see ${TOOL} unlock --help`);
      }
      if (!str(v, 'id')) {
        throw usageError(`unlock needs --id with the ID of the lock to remove (\`${TOOL} locks\` shows it): a lock is only removed by its ID`);
      }
    }
    if (command === 'history' && str(v, 'limit') !== undefined) {
      const text = str(v, 'limit')!;
      if (!/^\d+$/.test(text)) {
        throw usageError(`--limit must be a whole number (0 for all), got ${JSON.stringify(text)}`);
      }
      limit = Number(text);
    }
    if (command === 'restore' && !str(v, 'version-id')) {
      throw usageError(`restore needs --version-id with the version to restore (\`${TOOL} history\` lists them)`);
    }

    const flags: BackendSettings = {
      bucket: str(v, 'bucket'),
      table: str(v, 'table'),
      region: str(v, 'region'),
      useLockfile: flag(v, 'lockfile'),
      encrypt: flag(v, 'encrypt'),
      kmsKeyId: str(v, 'kms-key-id'),
      workspaceKeyPrefix: str(v, 'workspace-key-prefix'),
      pathStyle: flag(v, 'path-style'),
    };
    const clients = env.clients ?? sdkClientFactory(env.env);
    const warn = (t: string) => env.stderr(`${TOOL}: warning: ${t}\n`);
    if (command === 'locks' || command === 'inventory') {
      const fleet = parseFleetOptions({
        accounts: str(v, 'accounts'), organization: v.organization === true, roleName: str(v, 'role-name'), regions: str(v, 'regions'),
        region: flags.region, discovery: str(v, 'discovery'),
      }, env.env, str(v, 'backend-config'));
      if (fleet) {
        const fleetFlags = { ...flags, region: undefined };
        const targets = await fleetTargets({ clients, env: env.env, flags: fleetFlags, now: env.now, warn, who: env.who }, fleet);
        const out = { json, out: env.stdout, now: env.now };
        return command === 'locks' ? await locksFleetCommand(out, targets, olderThanMs) : await inventoryFleetCommand(out, targets, inventory!);
      }
    }
    const backend = await resolveBackend(
      { flags, backendConfigFile: str(v, 'backend-config'), discoveryPrefix: str(v, 'discovery') },
      { readFile: env.readFile, clients, env: env.env, warn },
    );
    const { needsLock, needsTable }: CommandSpec = COMMANDS[command];
    if (needsTable !== undefined && !backend.table) {
      throw usageError(`${command} needs the lock table: ${needsTable}; `
        + `${backend.from ? `${backend.from} sets no \`dynamodb_table\`: pass --table` : 'pass --table or a backend configuration that names it'}`);
    }
    if (needsLock !== undefined && !backend.table && !backend.useLockfile) {
      const names = backend.from
        ? `${backend.from} sets neither \`dynamodb_table\` nor \`use_lockfile = true\``
        : 'neither a lock table (--table, dynamodb_table) nor lock files (--lockfile, use_lockfile = true)';
      throw usageError(`${command}: the backend names no lock: ${names}, ${needsLock}. `
        + 'Pass --table NAME and/or --lockfile, or a backend configuration that sets dynamodb_table and/or use_lockfile');
    }
    const repeat = backendArgs(argv);
    const suggest = (args: readonly string[]) => [TOOL, ...args, ...repeat].map((a) => (/^<[A-Z ]+>$/.test(a) ? a : shellQuote(a))).join(' ');
    const ctx: CommandContext = {
      ops: {
        suggest,
        backend,
        s3: clients.s3({ region: backend.region, forcePathStyle: backend.pathStyle }),
        dynamodb: backend.table ? clients.dynamodb({ region: backend.region }) : undefined,
        now: env.now,
      },
      json,
      out: env.stdout,
      warn,
      note: (t) => env.stderr(`${TOOL}: ${t}\n`),
      progress: env.stderrIsTTY ? (t) => env.stderr(t) : undefined,
      who: env.who,
      toolVersion: toolVersion(),
      suggest,
    };

    /** The state a command acts on, named first on stderr with where its key came from. */
    const keyFor = (): { key: string; workspace?: string; statePath: string } => {
      const key = positionals[0] ?? backend.key;
      if (key === undefined) {
        throw usageError(`${command} needs the state key: ${backend.from ? `${backend.from} sets no \`key\`; pass it: ${TOOL} ${command} <key>`
          : `pass it (${TOOL} ${command} <key>) or use a backend configuration with a key`}`);
      }
      const workspace = str(v, 'workspace');
      const path = statePath(key, workspace, backend.workspaceKeyPrefix);
      const from = [positionals[0] !== undefined ? 'key: the argument' : `key from ${backend.from}`];
      if (workspace !== undefined && workspace !== 'default') {
        from.push(`workspace ${workspace} from --workspace under workspace_key_prefix ${JSON.stringify(backend.workspaceKeyPrefix)}`);
      }
      ctx.note(`state s3://${backend.bucket}/${path} (${from.join(', ')}${positionals[0] === undefined ? '; pass <key> for another state' : ''})`);
      return { key, workspace, statePath: path };
    };

    switch (command) {
      case 'locks':
        return await locksCommand(ctx, { olderThanMs });
      case 'inventory':
        return await inventoryCommand(ctx, inventory!);
      case 'unlock':
        return await unlockCommand(ctx, positionals[0], str(v, 'id')!);
      case 'history':
        return await historyCommand(ctx, { ...keyFor(), limit });
      case 'restore':
        return await restoreCommand(ctx, {
          ...keyFor(),
          versionId: str(v, 'version-id')!,
          allowOtherLineage: v['allow-other-lineage'] === true,
          keepSerial: v['keep-serial'] === true,
          dryRun: v['dry-run'] === true,
        });
      case 'diff':
        return await diffCommand(ctx, { ...keyFor(), from: str(v, 'from'), to: str(v, 'to'), values: v.values === true });
      case 'digest':
        return await digestCommand(ctx, { ...keyFor(), fix: v.fix === true });
      case 'prune-locks':
        return await pruneLocksCommand(ctx, { olderThanMs, prefix: str(v, 'prefix') ?? '', delete: v.delete === true });
    }
  } catch (e) {
    const err = e instanceof CliError ? e : new CliError(`unexpected error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, ExitCode.FAILURE);
    env.stderr(`${TOOL}: ${err.message}\n`);
    if (json) {
      env.stdout(toJson({ error: { message: err.message, exitCode: err.exitCode, ...(err.details ?? {}) } }));
    }
    return err.exitCode;
  }
}
