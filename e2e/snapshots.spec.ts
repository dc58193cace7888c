import { expect, test } from '@playwright/test';
import { launchTiny, newAccount, signUp, STATE_CHANGE } from './helpers';

test('take snapshots with and without memory from the instance page, restore each where it may be, and delete one', async ({ page }) => {
  test.setTimeout(300_000);
  const slug = await signUp(page, newAccount('snap'));
  const name = `e2e-snap-${Date.now().toString(36)}`;
  await launchTiny(page, slug, name);
  const state = page.getByRole('status', { name: 'State' });
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);
  const form = page.getByRole('form', { name: 'Take snapshot' });
  const table = page.getByRole('table', { name: `Snapshots of ${name}` });
  const row = (snap: string) => table.getByRole('row', { name: new RegExp(`^${snap} `) });

  // ── Bad input is refused beside its field ─────────────────────────────────
  await form.getByRole('button', { name: 'Take snapshot' }).click();
  await expect(form.getByText('Give the snapshot a name.')).toBeVisible();

  // ── With memory: the guest's state is written, with progress shown ────────
  await form.getByRole('textbox', { name: 'Snapshot name' }).fill('with memory');
  await form.getByRole('checkbox', { name: /Include memory/ }).check();
  await form.getByRole('button', { name: 'Take snapshot' }).click();
  await expect(row('with memory')).toContainText('creating');
  await expect(row('with memory').getByRole('progressbar')).toBeVisible();
  await expect(row('with memory')).toContainText('available', STATE_CHANGE);
  await expect(row('with memory')).toContainText('disk and memory');
  await expect(state).toHaveText('running');

  // ── Without memory; the same name again is refused beside the field ───────
  await form.getByRole('textbox', { name: 'Snapshot name' }).fill('disk only');
  await form.getByRole('checkbox', { name: /Include memory/ }).uncheck();
  await form.getByRole('button', { name: 'Take snapshot' }).click();
  await expect(row('disk only')).toContainText('available', STATE_CHANGE);
  await form.getByRole('textbox', { name: 'Snapshot name' }).fill('Disk Only');
  await form.getByRole('button', { name: 'Take snapshot' }).click();
  await expect(form.getByText(`${name} already has a snapshot named “Disk Only”.`)).toBeVisible();

  // A disk-only snapshot is not put under a running guest: the button says why.
  const restoreDisk = page.getByRole('button', { name: 'Restore snapshot disk only' });
  await expect(restoreDisk).toBeDisabled();
  await expect(restoreDisk).toHaveAttribute('title', 'A snapshot without memory is restored into a stopped instance: stop it first.');

  // ── Restore the memory snapshot: back running where it was ────────────────
  await page.getByRole('button', { name: 'Restore snapshot with memory' }).click();
  await page.getByRole('group', { name: /Put .* back to “with memory”\?/ }).getByRole('button', { name: 'Restore' }).click();
  await expect(state).toHaveText('running', STATE_CHANGE);
  const events = page.getByRole('table', { name: `Events of ${name}` });
  await expect(events.getByRole('row', { name: /restoring → running/ })).toBeVisible();
  await expect(page.getByText('Back at snapshot “with memory”, running where it was taken.')).toBeVisible();

  // ── Stop, then the disk-only snapshot goes back into the stopped instance ──
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(state).toHaveText('stopped', STATE_CHANGE);
  await expect(restoreDisk).toBeEnabled();
  await restoreDisk.click();
  await page.getByRole('group', { name: /Put .* back to “disk only”\?/ }).getByRole('button', { name: 'Restore' }).click();
  await expect(events.getByRole('row', { name: /restoring → stopped/ })).toBeVisible(STATE_CHANGE);
  await expect(state).toHaveText('stopped');

  // ── Delete one; the other stays ───────────────────────────────────────────
  await page.getByRole('button', { name: 'Delete snapshot disk only' }).click();
  await page.getByRole('group', { name: 'Delete snapshot “disk only”? The other snapshots stay as they are.' }).getByRole('button', { name: 'Delete' }).click();
  await expect(row('disk only')).toHaveCount(0, STATE_CHANGE);
  await expect(row('with memory')).toContainText('available');
});
