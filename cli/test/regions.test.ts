/** The regions bootstrap accepts are the AWS SDK's own partitions' (the SDK this package depends on). */
import * as fs from 'fs';
import { PARTITION_REGIONS } from '../src/regions';

test('PARTITION_REGIONS is the AWS SDK\'s partitions.js, partition by partition', () => {
  const file = require.resolve('@aws-sdk/core/package.json').replace(/package\.json$/, 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js');
  const source = fs.readFileSync(file, 'utf8').replace('export const partitionsInfo =', 'module.exports =');
  const m = { exports: {} as { partitions: Array<{ id: string; regions: Record<string, unknown> }> } };
  new Function('module', source)(m);
  const fromSdk = Object.fromEntries(m.exports.partitions.map((p) => [p.id, Object.keys(p.regions).filter((r) => !r.startsWith('aws-')).sort()]));
  expect(Object.fromEntries(Object.entries(PARTITION_REGIONS).map(([p, r]) => [p, [...r].sort()]))).toEqual(fromSdk);
});
