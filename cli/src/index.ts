/**
 * tfstate-ops: state operations for Terraform's s3 backend. The command line is
 * `main(argv, io)`; the modules below are its parts, exported for tests and scripts.
 */
export { main, Io, toolVersion } from './main';
export { ExitCode, CliError } from './errors';
export { ClientFactory, ClientOptions, RetryStrategy, Service, Timeouts, DEFAULT_TIMEOUTS, sdkClientFactory, endpointFromEnv } from './aws';
export { Backend, BackendSettings, parseBackendConfig, parseHclValue, resolveBackend, statePath } from './backend';
export { LockInfo, marshalLockInfo, unmarshalLockInfo, parseGoTime } from './lock-info';
export { parseDuration, formatAge, renderTable } from './format';
export { md5Hex, summarizeState, withSerial } from './state';
