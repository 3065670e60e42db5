/** jest globalTeardown: stops the DynamoDB Local that globalSetup started (and waits for it to exit). */
import { DYNAMODB_LOCAL_GLOBAL, StartedDynamoDbLocal } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const store = globalThis as Record<symbol, unknown>;
  const started = store[DYNAMODB_LOCAL_GLOBAL] as StartedDynamoDbLocal | undefined;
  if (!started) {
    return;
  }
  delete store[DYNAMODB_LOCAL_GLOBAL];
  await started.stop();
  delete process.env.DYNAMODB_LOCAL_ENDPOINT;
}
