import { expect, test } from '@playwright/test';
import { launchTiny, newAccount, signUp, STATE_CHANGE } from './helpers';

test('resize from the instance page: the disk grows while it runs, vCPUs, memory and NICs change while it is stopped, each refusal says why', async ({ page }) => {
  test.setTimeout(300_000);
  const slug = await signUp(page, newAccount('resize'));
  const name = `e2e-resize-${Date.now().toString(36)}`;
  await launchTiny(page, slug, name);
  const state = page.getByRole('status', { name: 'State' });
  const details = page.getByRole('region', { name: 'Details' });
  const form = page.getByRole('form', { name: 'Resize instance' });
  const submit = form.getByRole('button', { name: 'Resize' });

  // ── Running: Tiny Linux does not online hot-added vCPUs, so that waits for a stop ──
  await expect(submit).toBeDisabled();
  await expect(submit).toHaveAttribute('title', 'That is the size it has.');
  await form.getByRole('spinbutton', { name: 'vCPUs' }).fill('2');
  await expect(submit).toHaveAttribute('title', 'Its image does not bring hot-added vCPUs and memory online: stop it to change them.');
  await form.getByRole('spinbutton', { name: 'vCPUs' }).fill('1');

  // ── Its disk grows while it runs ────────────────────────────────────────
  await form.getByRole('spinbutton', { name: 'Disk (GiB)' }).fill('2');
  await expect(form.getByRole('list', { name: 'Quota after resize' })).toBeVisible();
  await submit.click();
  await expect(page.getByRole('table', { name: `Events of ${name}` })).toContainText('It has 1 vCPU, 256 MiB, 2 GiB now, added while it runs.', STATE_CHANGE);
  await expect(state).toHaveText('running');
  await expect(details).toContainText('2 GiB');

  // ── Stopped, it takes another size; a disk does not shrink ───────────────
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(state).toHaveText('stopped', STATE_CHANGE);
  await form.getByRole('spinbutton', { name: 'Disk (GiB)' }).fill('1');
  await expect(submit).toHaveAttribute('title', 'A disk only grows: it has 2 GiB.');
  await form.getByRole('spinbutton', { name: 'Disk (GiB)' }).fill('2');
  await form.getByRole('spinbutton', { name: 'Memory (MiB)' }).fill('');
  await submit.click();
  await expect(form.getByText('Enter a whole number for Memory.')).toBeVisible();
  await form.getByRole('spinbutton', { name: 'vCPUs' }).fill('2');
  await form.getByRole('spinbutton', { name: 'Memory (MiB)' }).fill('384');
  await form.getByRole('spinbutton', { name: 'Network interfaces' }).fill('2');
  await submit.click();
  await expect(page.getByRole('table', { name: `Events of ${name}` })).toContainText('It has 2 vCPU, 384 MiB, 2 GiB and 2 network interfaces now.', STATE_CHANGE);
  await expect(state).toHaveText('stopped');
  await expect(details).toContainText('2 vCPU');
  // …and back to one vCPU (a stopped instance is made smaller too), which boots quickest under TCG.
  await form.getByRole('spinbutton', { name: 'vCPUs' }).fill('1');
  await submit.click();
  await expect(page.getByRole('table', { name: `Events of ${name}` })).toContainText('It has 1 vCPU, 384 MiB, 2 GiB now.', STATE_CHANGE);
  await expect(state).toHaveText('stopped');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(state).toHaveText('running', STATE_CHANGE);
  // The guest itself reports its new size: memory, disk and both NICs.
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText(/CIRRUS-HW vcpus=1 mem_kb=\d+ disk_bytes=2147483648 nics=2 /, STATE_CHANGE);
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);
});
