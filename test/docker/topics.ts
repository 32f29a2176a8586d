import type { StackEnv } from '../support/index.js';
import { testKafka } from '../integration/publish-helpers.js';

/** Deletes the Kafka topics a test created, all named `<prefix>.…`. */
export async function deleteTopicsWithPrefix(env: StackEnv, prefix: string): Promise<void> {
  const admin = testKafka(env).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
