export { BackendConfig, BackendConfigOptions } from './backend-config';
export {
  LockingMode,
  StateEncryption,
  StateGrantOptions,
  StateReplication,
  TerraformStateBackend,
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
export { ReplicaEncryption, TerraformStateReplica, TerraformStateReplicaProps } from './terraform-state-replica';
export { TerraformStateReplicaStack, TerraformStateReplicaStackProps } from './terraform-state-replica-stack';
