/**
 * The command line: `main(argv, io)` parses, runs one command and returns its exit code.
 * Everything it touches comes through `io`, so tests run it in-process with emulated
 * clients, an endpoint in `io.env`, a fixed clock and captured output.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { ClientFactory, sdkClientFactory } from './aws';
import { BackendSettings, resolveBackend, statePath } from './backend';
import { digestCommand } from './cmd-digest';
import { historyCommand } from './cmd-history';
import { locksCommand } from './cmd-locks';
import { restoreCommand } from './cmd-restore';
import { unlockCommand } from './cmd-unlock';
import { CommandContext } from './context';
import { CliError, ExitCode, usageError } from './errors';
import { parseDuration, shellQuote, toJson } from './format';
import { COMMAND_HELP, MAIN_HELP, TOOL } from './help';

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
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

const BACKEND_OPTIONS: Record<string, OptionSpec> = {
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

const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMAND_OPTIONS: Record<string, Record<string, OptionSpec>> = {
  locks: { 'older-than': { type: 'string' } },
  unlock: { id: { type: 'string' } },
  history: { workspace: { type: 'string' }, limit: { type: 'string' } },
  restore: { 'workspace': { type: 'string' }, 'version-id': { type: 'string' }, 'allow-other-lineage': { type: 'boolean' }, 'keep-serial': { type: 'boolean' } },
  digest: { workspace: { type: 'string' }, fix: { type: 'boolean' } },
};

/** How many positional arguments each command takes (after its name). */
const POSITIONALS: Record<string, { max: number; names: string }> = {
  locks: { max: 0, names: '' },
  unlock: { max: 1, names: '<state path>' },
  history: { max: 1, names: '[<key>]' },
  restore: { max: 1, names: '[<key>]' },
  digest: { max: 1, names: '[<key>]' },
};

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
  };
}

interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

function parse(args: string[], options: Record<string, OptionSpec>, command: string | undefined): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const err = e as { code?: string; message: string };
    const see = command ? `${TOOL} ${command} --help` : `${TOOL} --help`;
    const option = /'(-[^' ]+)/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw usageError(`unknown option ${option ?? ''}${command ? ` for ${command}` : ''}; see ${see}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw usageError(`${err.message.replace(/\.$/, '')}; see ${see}`);
    }
    throw usageError(`${err.message}; see ${see}`);
  }
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
    // First pass: find the command among every known option.
    const all = { ...BACKEND_OPTIONS, ...COMMON_OPTIONS, ...Object.assign({}, ...Object.values(COMMAND_OPTIONS)) };
    all.version = { type: 'boolean' };
    const first = parse([...argv], all, undefined);
    const [command, ...rest] = first.positionals;
    if (command === undefined || command === 'help') {
      const topic = rest[0];
      if (topic !== undefined && COMMAND_HELP[topic]) {
        env.stdout(COMMAND_HELP[topic]);
        return ExitCode.OK;
      }
      if (first.values.version) {
        env.stdout(`${toolVersion()}\n`);
        return ExitCode.OK;
      }
      if (first.values.help || command === 'help') {
        env.stdout(MAIN_HELP);
        return ExitCode.OK;
      }
      env.stderr(MAIN_HELP);
      return ExitCode.USAGE;
    }
    if (!COMMAND_OPTIONS[command]) {
      throw usageError(`unknown command ${JSON.stringify(command)}; the commands are ${Object.keys(COMMAND_OPTIONS).join(', ')} (see ${TOOL} --help)`);
    }
    const parsed = parse([...argv], { ...BACKEND_OPTIONS, ...COMMON_OPTIONS, ...COMMAND_OPTIONS[command] }, command);
    const v = parsed.values;
    json = v.json === true;
    if (v.help) {
      env.stdout(COMMAND_HELP[command]);
      return ExitCode.OK;
    }
    const positionals = parsed.positionals.slice(1);
    if (positionals.length > POSITIONALS[command].max) {
      throw usageError(`${command} takes ${POSITIONALS[command].max === 0 ? 'no arguments' : `one argument, ${POSITIONALS[command].names}`}, `
        + `got ${positionals.map((p) => JSON.stringify(p)).join(' ')}; see ${TOOL} ${command} --help`);
    }

    // Check the command's own arguments before any AWS call.
    let olderThanMs: number | undefined;
    let limit = 20;
    if (command === 'locks' && str(v, 'older-than') !== undefined) {
      olderThanMs = parseDuration(str(v, 'older-than')!, '--older-than');
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
    const backend = await resolveBackend(
      { flags, backendConfigFile: str(v, 'backend-config'), discoveryPrefix: str(v, 'discovery') },
      { readFile: env.readFile, clients, env: env.env, warn },
    );
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
      who: env.who,
      toolVersion: toolVersion(),
      suggest,
    };

    const keyFor = (): { key: string; workspace?: string; statePath: string } => {
      const key = positionals[0] ?? backend.key;
      if (key === undefined) {
        throw usageError(`${command} needs the state key: pass it (${TOOL} ${command} <key>) or use a backend configuration with a key`);
      }
      const workspace = str(v, 'workspace');
      return { key, workspace, statePath: statePath(key, workspace, backend.workspaceKeyPrefix) };
    };

    switch (command) {
      case 'locks':
        return await locksCommand(ctx, { olderThanMs });
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
        });
      case 'digest':
        return await digestCommand(ctx, { ...keyFor(), fix: v.fix === true });
    }
    throw usageError(`unknown command ${command}`);
  } catch (e) {
    const err = e instanceof CliError ? e : new CliError(`unexpected error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`, ExitCode.FAILURE);
    env.stderr(`${TOOL}: ${err.message}\n`);
    if (json) {
      env.stdout(toJson({ error: { message: err.message, exitCode: err.exitCode, ...(err.details ?? {}) } }));
    }
    return err.exitCode;
  }
}
