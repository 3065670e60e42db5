/**
 * lib/private/shapes.ts declares the public props as lib/private/ reads them,
 * so that lib/private/ imports no construct file. Each shape must keep to its
 * public interface: the same fields with the same types (the StackSet's: a
 * subset of its fields), or a prop renamed or retyped in one place would be
 * read wrongly, or not at all, by the defaults and the validation. These are
 * type-level assertions: `npm run typecheck` fails when a shape drifts.
 */
import type {
  StateReplication,
  TerraformStateBackendAttributes,
  TerraformStateBackendDiscoveryOptions,
  TerraformStateBackendOptions,
  TerraformStateBackendProps,
  TerraformStateBackendStackSetProps,
  TerraformStateReplicaProps,
} from '../lib';
import type {
  BackendAttributesShape,
  BackendOptionsShape,
  BackendPropsShape,
  DiscoveryOptionsShape,
  ReplicaPropsShape,
  ReplicationShape,
  StackSetPropsShape,
} from '../lib/private/shapes';

/** `true` when every field of `Shape` is a field of `Public`, and `Public` is assignable to `Shape`. */
type Within<Shape, Public> = [keyof Shape] extends [keyof Public] ? ([Public] extends [Shape] ? true : false) : false;
/** `true` when `Shape` and `Public` have the same fields, of types assignable both ways. */
type Same<Shape, Public> = Within<Shape, Public> extends true ? Within<Public, Shape> : false;

describe('the shapes of lib/private/', () => {
  test('are the public interfaces, field for field', () => {
    const same: Record<string, true> = {
      StateReplication: true satisfies Same<ReplicationShape, StateReplication>,
      TerraformStateBackendOptions: true satisfies Same<BackendOptionsShape, TerraformStateBackendOptions>,
      TerraformStateBackendProps: true satisfies Same<BackendPropsShape, TerraformStateBackendProps>,
      TerraformStateBackendAttributes: true satisfies Same<BackendAttributesShape, TerraformStateBackendAttributes>,
      TerraformStateBackendDiscoveryOptions: true satisfies Same<DiscoveryOptionsShape, TerraformStateBackendDiscoveryOptions>,
      TerraformStateReplicaProps: true satisfies Same<ReplicaPropsShape, TerraformStateReplicaProps>,
      TerraformStateBackendStackSetProps: true satisfies Within<StackSetPropsShape, TerraformStateBackendStackSetProps>,
    };
    expect(Object.keys(same)).toHaveLength(7);
  });
});
