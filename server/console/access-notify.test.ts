import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db';
import { listenConsoleAccess, notifyConsoleAccess } from './access-notify';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.close());

describe('console access notifications', () => {
  it('reach a listener when the transaction commits, and never when it rolls back', async () => {
    const heard: string[] = [];
    const stop = await listenConsoleAccess(t.url, (id) => heard.push(id));
    try {
      const kept = crypto.randomUUID();
      const undone = crypto.randomUUID();
      await t.db
        .transaction(async (tx) => {
          await notifyConsoleAccess(tx, undone);
          throw new Error('roll back');
        })
        .catch(() => undefined);
      await t.db.transaction(async (tx) => {
        await notifyConsoleAccess(tx, kept);
        // Not before the commit.
        await new Promise((r) => setTimeout(r, 200));
        expect(heard).toEqual([]);
      });
      for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual([kept]);
    } finally {
      await stop();
    }
  });
});
