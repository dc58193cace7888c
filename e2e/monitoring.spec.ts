import { expect, test } from '@playwright/test';
import { launchTiny, newAccount, signUp, STATE_CHANGE } from './helpers';

// The server samples guests every CIRRUS_SAMPLE_SECONDS (5 s in playwright.config.ts).

test('the Monitoring card shows a CPU burn caused inside the guest within a minute, and its end', async ({ page, context }) => {
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} (${m.location().url})`);
  });
  const slug = await signUp(page, newAccount('mon'));
  const name = `e2e-mon-${Date.now().toString(36)}`;
  const instanceUrl = await launchTiny(page, slug, name);
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);

  // ── The card: a range picker and, once the guest has been sampled, four charts ──
  const card = page.getByRole('region', { name: 'Monitoring' });
  const range = card.getByRole('group', { name: 'Time range' });
  await expect(range.getByRole('radio', { name: '1 hour' })).toBeChecked();
  const cpu = card.getByRole('figure', { name: 'CPU', exact: true });
  await expect(cpu).toBeVisible({ timeout: 60_000 });
  for (const chart of ['Memory', 'Disk throughput', 'Network throughput']) await expect(card.getByRole('figure', { name: chart })).toBeVisible();
  await expect(cpu).toHaveAccessibleDescription(/^CPU \d+ % now, peak \d+ % in the last hour\.$/);
  await expect(card.getByRole('figure', { name: 'Memory' })).toHaveAccessibleDescription(/^Memory .+ resident of 256 MiB now/);

  // The range picker is a radio group: arrow keys move through it.
  await range.getByRole('radio', { name: '1 hour' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(range.getByRole('radio', { name: '1 day' })).toBeChecked();
  await expect(card.getByText(/^Each point the mean of 2 min\./)).toBeVisible();
  // Its first 1-minute rows come a minute or so after it started: until then, the empty state says when.
  await expect(cpu.or(card.getByText('No samples yet — they start within 10 s of the instance running.')).first()).toBeVisible();
  await range.getByRole('radio', { name: '1 hour' }).check();
  await expect(cpu).toBeVisible();

  // ── A CPU burn in the guest, typed into its serial console ─────────────────
  const serial = await context.newPage();
  await serial.goto(`${instanceUrl}/serial`);
  await expect(serial.getByRole('status', { name: 'Connection' })).toHaveText('Connected', STATE_CHANGE);
  const terminal = serial.getByRole('group', { name: `Serial terminal of ${name}` });
  await terminal.click();
  await serial.keyboard.type('while :; do :; done & echo burn=$!');
  await serial.keyboard.press('Enter');
  await expect(terminal.locator('.xterm-rows')).toContainText(/burn=\d+/, { timeout: 20_000 });

  // The instance page's CPU chart says so within a minute…
  await expect(cpu).toHaveAccessibleDescription(/^CPU ([5-9]\d|100) % now, peak ([5-9]\d|100) % in the last hour\.$/, { timeout: 60_000 });

  // …and that it is over, once the burn is stopped.
  await terminal.click();
  await serial.keyboard.type('kill $!');
  await serial.keyboard.press('Enter');
  await expect(cpu).toHaveAccessibleDescription(/^CPU ([0-9]|[1-3]\d) % now, peak ([5-9]\d|100) % in the last hour\.$/, { timeout: 60_000 });
  await serial.close();

  // ── Clean up ─────────────────────────────────────────────────────────────
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('terminated', STATE_CHANGE);
  // Its samples stay for the record (until their retention).
  await expect(cpu).toBeVisible();
  expect(errors).toEqual([]);
});
