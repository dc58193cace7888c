import { expect, test } from '@playwright/test';
import { launchTiny, newAccount, signUp, STATE_CHANGE } from './helpers';

test('suspend a running guest to disk from its page with progress shown, resume it where it was, and see the saved state billed', async ({ page }) => {
  test.setTimeout(240_000);
  const slug = await signUp(page, newAccount('sus'));
  const name = `e2e-sus-${Date.now().toString(36)}`;
  const instanceUrl = await launchTiny(page, slug, name);
  const state = page.getByRole('status', { name: 'State' });
  const log = page.getByRole('log', { name: 'Serial log' });
  await expect(log).toContainText('CIRRUS-READY', STATE_CHANGE);
  const resume = page.getByRole('button', { name: 'Resume', exact: true });
  await expect(resume).toBeDisabled();
  await expect(resume).toHaveAttribute('title', 'A running instance cannot be resumed (only a suspended one can).');

  // ── Suspend: the page shows how far the save has come, then what is kept ──
  await page.getByRole('button', { name: 'Suspend', exact: true }).click();
  await expect(state).toHaveText('suspending');
  const progress = page.getByRole('progressbar', { name: 'Saving its memory to disk' });
  await expect(progress).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /^Saving its memory to disk: [\d.]+ \w+ of [\d.]+ \w+ \(\d+%\)$/ })).toBeVisible();
  await expect(state).toHaveText('suspended', STATE_CHANGE);
  await expect(progress).toHaveCount(0);
  await expect(page.getByText(/^Suspended: its running state \(\d+ MiB\) is saved on its host/)).toBeVisible();
  const events = page.getByRole('table', { name: `Events of ${name}` });
  await expect(events.getByRole('row', { name: /suspending → suspended/ })).toBeVisible();
  // What does not fit a suspended instance is disabled with the reason.
  await expect(page.getByRole('button', { name: 'Start', exact: true })).toHaveAttribute(
    'title',
    'A suspended instance is resumed, not started (or stop it to boot from its disk).',
  );
  await expect(page.getByRole('button', { name: 'Reboot', exact: true })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Open console' })).toHaveAttribute('title', 'A suspended instance has no screen or console: resume it first.');

  // ── Resume: the same guest goes on, no second boot ─────────────────────────
  await resume.click();
  await expect(state).toHaveText('running', STATE_CHANGE);
  await expect(events.getByRole('row', { name: /resuming → running/ })).toBeVisible();
  await expect(page.getByText('The guest goes on from where it was suspended.')).toBeVisible();
  await page.reload();
  await expect(log).toContainText('CIRRUS-READY');
  expect((await log.innerText()).split('CIRRUS-READY').length - 1).toBe(1);

  // ── Billing: the saved state is a line of its own ─────────────────────────
  await page.goto(`/t/${slug}/billing`);
  const byResource = page.getByRole('table', { name: 'Cost by resource' });
  await expect(byResource.getByRole('row', { name: /^Saved state / })).toBeVisible();
  await page.goto(instanceUrl);
});
