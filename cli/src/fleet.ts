/**
 * Several backends at once: the accounts (listed, or an organization's ACTIVE ones), a
 * role assumed in each (STS AssumeRole), and in each account and region the backend its
 * discovery parameters publish. A backend that cannot be reached is a result with its
 * reason, never the end of the run.
 */
import { ListAccountsCommand, ListAccountsCommandOutput } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { aws, ClientFactory, Credentials, withCredentials } from './aws';
import { Backend, BackendSettings, discoverBackend, resolveBackend } from './backend';
import { CliError, ExitCode, usageError } from './errors';
import { mapLimit, Ops } from './locks';

/** How many accounts are worked on at once. */
export const FLEET_CONCURRENCY = 4;

export interface FleetOptions {
  readonly accounts?: readonly string[];
  readonly organization: boolean;
  readonly roleName?: string;
  readonly regions: readonly string[];
  readonly discovery?: string;
}

/** One account and region, and its backend's clients, or why there are none. */
export interface FleetTarget {
  readonly account: string;
  readonly region: string;
  readonly ops?: Ops;
  readonly error?: CliError;
}

export interface FleetContext {
  readonly clients: ClientFactory;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags: BackendSettings;
  readonly now: () => Date;
  readonly warn: (text: string) => void;
  readonly who: string;
}

/** Reads the fleet options from the command line; undefined when none is given. */
export function parseFleetOptions(values: {
  accounts?: string; organization?: boolean; roleName?: string; regions?: string; region?: string; discovery?: string;
}, env: Readonly<Record<string, string | undefined>>, backendFile?: string): FleetOptions | undefined {
  const { accounts, organization, roleName, regions } = values;
  if (accounts === undefined && !organization) {
    if (roleName !== undefined || regions !== undefined) {
      throw usageError(`${roleName !== undefined ? '--role-name' : '--regions'} is for several backends at once: pass --accounts ID,ID or --organization with it`);
    }
    return undefined;
  }
  if (accounts !== undefined && organization) {
    throw usageError('--accounts and --organization both name the accounts: use one of them');
  }
  const list = accounts?.split(',').map((a) => a.trim()).filter((a) => a !== '');
  const bad = list?.filter((a) => !/^\d{12}$/.test(a)) ?? [];
  if (list !== undefined && (list.length === 0 || bad.length > 0)) {
    throw usageError(`--accounts must be 12-digit account IDs separated by commas, got ${JSON.stringify(accounts)}${bad.length ? ` (${bad.map((b) => JSON.stringify(b)).join(', ')})` : ''}`);
  }
  if (!roleName) {
    throw usageError(`${organization ? '--organization' : '--accounts'} needs --role-name NAME: the role this tool assumes in each account (arn:aws:iam::<account>:role/NAME)`);
  }
  if (values.discovery === undefined) {
    throw usageError(`${organization ? '--organization' : '--accounts'} finds each account and region's backend by its discovery parameters: pass --discovery PREFIX`
      + `${backendFile ? ' (instead of --backend-config, which names one backend)' : ''}`);
  }
  const regionList = (regions ?? values.region ?? env.AWS_REGION ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
  const badRegions = regionList.filter((r) => !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(r));
  if (regionList.length === 0 || badRegions.length > 0) {
    throw usageError(`--regions must be region names separated by commas (eu-west-1,us-east-1)${regionList.length === 0 ? ': none given, and no --region or AWS_REGION'
      : `, got ${badRegions.map((r) => JSON.stringify(r)).join(', ')}`}`);
  }
  return { accounts: list, organization: organization === true, roleName, regions: [...new Set(regionList)], discovery: values.discovery };
}

/** The ACTIVE accounts of the caller's organization (Organizations ListAccounts, every page). */
export async function organizationAccounts(clients: ClientFactory): Promise<string[]> {
  const org = clients.organizations({});
  const accounts: string[] = [];
  let token: string | undefined;
  do {
    const page: ListAccountsCommandOutput = await aws({ action: 'organizations:ListAccounts', resource: 'the organization' },
      () => org.send(new ListAccountsCommand({ NextToken: token })));
    for (const a of page.Accounts ?? []) {
      // `State` replaces `Status` (retired September 2026); either says ACTIVE.
      if ((a.State ?? a.Status) === 'ACTIVE' && a.Id) accounts.push(a.Id);
    }
    token = page.NextToken;
  } while (token);
  return accounts.sort();
}

/** AssumeRole into `account`'s role, through the STS of `region`. */
async function assumeRole(ctx: FleetContext, account: string, roleName: string, region: string): Promise<Credentials> {
  const roleArn = `arn:aws:iam::${account}:role/${roleName}`;
  const sts = ctx.clients.sts({ region });
  const session = `tfstate-ops-${ctx.who.replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);
  const out = await aws({ action: 'sts:AssumeRole', resource: roleArn, notFound: `the role ${roleArn} does not exist` },
    () => sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: session })));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) {
    throw new CliError(`sts:AssumeRole on ${roleArn} returned no credentials`, ExitCode.FAILURE);
  }
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
}

function asCliError(e: unknown): CliError {
  return e instanceof CliError ? e : new CliError(e instanceof Error ? e.message : String(e), ExitCode.FAILURE);
}

/** Every account and region of the fleet, each with its backend's clients or the reason it has none. */
export async function fleetTargets(ctx: FleetContext, options: FleetOptions): Promise<FleetTarget[]> {
  const accounts = options.accounts ?? await organizationAccounts(ctx.clients);
  if (accounts.length === 0) {
    throw new CliError('the organization has no ACTIVE account (organizations:ListAccounts)', ExitCode.NOT_FOUND);
  }
  const perAccount = await mapLimit(accounts, FLEET_CONCURRENCY, async (account): Promise<FleetTarget[]> => {
    let credentials: Credentials;
    try {
      credentials = await assumeRole(ctx, account, options.roleName!, options.regions[0]);
    } catch (e) {
      const error = asCliError(e);
      return options.regions.map((region) => ({ account, region, error }));
    }
    const clients = withCredentials(ctx.clients, credentials);
    return Promise.all(options.regions.map(async (region): Promise<FleetTarget> => {
      try {
        // The parameters are read in `region`; the backend is in the region they name (a
        // backend published away from its own region stays where it is), the flags over both.
        const resolve = { readFile: () => '', clients, env: ctx.env, warn: ctx.warn };
        const { from: _from, ...discovered } = await discoverBackend(options.discovery!, region, resolve);
        const flags = Object.fromEntries(Object.entries(ctx.flags).filter(([, v]) => v !== undefined));
        const backend: Backend = await resolveBackend({ flags: { ...discovered, region: discovered.region ?? region, ...flags } }, resolve);
        const ops: Ops = {
          backend,
          s3: clients.s3({ region: backend.region, forcePathStyle: backend.pathStyle }),
          dynamodb: backend.table ? clients.dynamodb({ region: backend.region }) : undefined,
          now: ctx.now,
        };
        return { account, region, ops };
      } catch (e) {
        return { account, region, error: asCliError(e) };
      }
    }));
  });
  return perAccount.flat();
}

/** Runs `fn` on every reachable backend; a failure becomes that backend's error. */
export async function overFleet<T>(targets: readonly FleetTarget[], fn: (ops: Ops) => Promise<T>): Promise<Array<FleetTarget & { result?: T }>> {
  return mapLimit(targets, FLEET_CONCURRENCY, async (t) => {
    if (!t.ops) return t;
    try {
      return { ...t, result: await fn(t.ops) };
    } catch (e) {
      return { ...t, error: asCliError(e) };
    }
  });
}

/** The fleet's failures as lines: `ACCOUNT REGION: reason`. */
export function fleetFailures(results: ReadonlyArray<FleetTarget>): string {
  const failed = results.filter((r) => r.error);
  if (failed.length === 0) return '';
  return `\n${failed.length} backend${failed.length === 1 ? '' : 's'} not reached:\n${failed.map((r) => `  ${r.account} ${r.region}: ${r.error!.message}`).join('\n')}\n`;
}
