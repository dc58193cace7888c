import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { launchTiny, newAccount, signUp } from './helpers';

/** The host processes running QEMU for a guest (read from /proc; the e2e server runs on this machine). */
function qemuPids(instanceId: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv[0]?.includes('qemu-system') && argv.some((a) => a.startsWith(`guest=${instanceId}`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('kill -9 of a guest’s QEMU shows the instance stopped, with the reason, within 5 s — on the detail page and the list', async ({ page, context }) => {
  test.setTimeout(180_000);
  const slug = await signUp(page, newAccount('crash'));
  const instanceId = (await launchTiny(page, slug, 'doomed')).split('/').pop()!;
  const state = page.getByRole('status', { name: 'State' });

  const list = await context.newPage();
  await list.goto(`/t/${slug}/instances`);
  await expect(list.getByRole('row', { name: /doomed/ })).toContainText('running');

  const pids = qemuPids(instanceId);
  expect(pids).toHaveLength(1);
  process.kill(pids[0]!, 'SIGKILL');
  const killedAt = Date.now();
  await expect(state).toHaveText('stopped', { timeout: 5_000 });
  await expect(list.getByRole('row', { name: /doomed/ })).toContainText('stopped', { timeout: Math.max(500, 5_000 - (Date.now() - killedAt)) });
  expect(Date.now() - killedAt).toBeLessThan(5_000);
  await expect(page.getByText(/killed outside Cirrus|crashed|no longer running/).first()).toBeVisible();

  // Clean up: terminate it.
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('group', { name: 'Terminate doomed? Its disk and snapshots are deleted.' })).toBeVisible();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(state).toHaveText('terminated', { timeout: 60_000 });
});
