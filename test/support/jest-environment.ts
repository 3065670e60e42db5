/**
 * The jest test environment of this repository: jest's `node` environment, plus one
 * CloudFormation validation engine per jest worker instead of one per synthesis.
 *
 * Why: aws-cdk-lib validates every template it synthesizes ("CloudFormation Validate",
 * TRAPS.md 7) with `@aws/cloudformation-validate`, a WebAssembly engine. Jest loads
 * every module afresh for each test file, so each file paid for a new WebAssembly
 * instance whose first engine takes seconds to build (it loads the resource schemas),
 * and aws-cdk-lib builds a new engine whenever a template has a resource type that the
 * previous one did not (`CloudFormationValidatePlugin.initializeEngine`): in a file
 * that synthesizes stacks of different shapes, that is nearly every synthesis. Most of
 * the unit tests' time went there.
 *
 * What is shared, and why it stays honest: this environment loads the engine's module
 * once per worker, outside the test files' module registries, and `moduleNameMapper`
 * (jest.config.js) hands that module to aws-cdk-lib through `cfn-validate-shared.ts`.
 * Its `CompositeEngine` gives out one engine per configuration: an engine is a pure
 * function of its configuration (the rules and schemas it was built with), so the same
 * configuration built twice validates alike; only `free()` of a shared engine does
 * nothing. Every synthesis is still validated, by the same code, with the same rules,
 * and reports what it reported before. `test/cfn-validate-shared.test.ts` proves it.
 */
import * as path from 'path';
import NodeEnvironment from 'jest-environment-node';

/** Where test files (through cfn-validate-shared.ts) find the shared module. */
export const CFN_VALIDATE_SHARED = Symbol.for('cdk-terraform-state-backend.cfn-validate');

interface Engine {
  free(): void;
}
type EngineClass = new (config: unknown) => Engine;

let shared: Record<string, unknown> | undefined;

/** The module aws-cdk-lib requires, resolved from aws-cdk-lib (it is its dependency, not ours). */
export function realCfnValidatePath(): string {
  const cdkLib = path.dirname(require.resolve('aws-cdk-lib/package.json'));
  return require.resolve('@aws/cloudformation-validate', { paths: [cdkLib] });
}

/**
 * `value` rebuilt from this realm's arrays, maps and plain objects. A test file runs in
 * its own realm (vm context), and the engine's module, loaded here, accepts only plain
 * objects of its own realm (any other it rejects as not plain, and aws-cdk-lib would
 * report that as a failed validation plugin, a warning).
 */
function here(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map(here);
  }
  if (Object.prototype.toString.call(value) === '[object Map]') {
    return new Map([...(value as Map<unknown, unknown>)].map(([k, v]) => [here(k), here(v)]));
  }
  const proto = Object.getPrototypeOf(value);
  // A plain object of any realm (its prototype is a realm's Object.prototype, or none); anything else
  // (a TemplateContent, made by the shared module itself) is passed as it is.
  if (proto !== null && Object.getPrototypeOf(proto) !== null) {
    return value;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, here(v)]));
}

/** `@aws/cloudformation-validate`, loaded once for this worker, with engines shared by configuration. */
export function sharedCfnValidate(): Record<string, unknown> {
  if (shared) {
    return shared;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const real = require(realCfnValidatePath()) as Record<string, unknown> & { CompositeEngine: EngineClass };
  const engines = new Map<string, Engine>();
  // A constructor that returns an object gives that object to `new`.
  const CompositeEngine = function CompositeEngine(config: unknown): Engine {
    const key = JSON.stringify(config ?? {});
    let engine = engines.get(key);
    if (!engine) {
      engine = new real.CompositeEngine(here(config));
      engines.set(key, engine);
    }
    // The shared engine, its inputs brought into this realm; freeing it is left to the end of the worker.
    const validateTemplate = (engine as unknown as { validateTemplate(...args: unknown[]): unknown }).validateTemplate;
    return Object.create(engine, {
      validateTemplate: { value: (...args: unknown[]) => validateTemplate.apply(engine, args.map(here)) },
      free: { value: () => undefined },
    }) as Engine;
  } as unknown as EngineClass;
  shared = { ...real, CompositeEngine, sharedEngineCount: () => engines.size };
  return shared;
}

export default class TestEnvironment extends NodeEnvironment {
  async setup(): Promise<void> {
    await super.setup();
    // Loaded when a test file first needs it (a file that synthesizes), not for every file.
    Object.defineProperty(this.global, CFN_VALIDATE_SHARED, { get: sharedCfnValidate });
  }
}
