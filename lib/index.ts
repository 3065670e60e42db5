export { BackendConfig, BackendConfigOptions } from './backend-config';
export { DataProtectionOptions, LockFileTag, LockingMode, ReplicaEncryption, StateEncryption } from './state-settings';
export { StateGrantOptions, StateGrants } from './state-grants';
export { ITerraformStateBackend, TerraformStateBackendBase } from './terraform-state-backend-base';
export {
  StateReplication,
  TerraformStateBackend,
  TerraformStateBackendAttributes,
  TerraformStateBackendDiscoveryOptions,
  TerraformStateBackendOptions,
  TerraformStateBackendProps,
} from './terraform-state-backend';
export { TerraformStateBackendStack, TerraformStateBackendStackProps } from './terraform-state-backend-stack';
export {
  RegionConcurrency,
  StackSetCallAs,
  TerraformStateBackendStackSet,
  TerraformStateBackendStackSetProps,
} from './terraform-state-backend-stack-set';
export { TerraformStateReplica, TerraformStateReplicaProps } from './terraform-state-replica';
export { TerraformStateReplicaStack, TerraformStateReplicaStackProps } from './terraform-state-replica-stack';
