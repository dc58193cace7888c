import { expect, test, type Page } from '@playwright/test';
import { newAccount, ownerWithTeammate, signUp, STATE_CHANGE } from './helpers';

async function quotaUsage(page: Page, slug: string): Promise<string> {
  await page.goto(`/t/${slug}/quotas`);
  const usage = page.getByRole('list', { name: 'Quota usage' });
  await expect(usage.getByRole('meter', { name: 'vCPUs' })).toBeVisible();
  return usage.innerText();
}

test('launch a 2 vCPU · 384 MiB · 2 GiB · 2 NIC guest from the UI, watch it boot, stop, start, reboot, force stop and terminate it', async ({ page, context }) => {
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    // The app has no favicon; that 404 is the browser's, not the console's.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} (${m.location().url})`);
  });
  const slug = await signUp(page, newAccount('vm'));
  const name = `e2e-vm-${Date.now().toString(36)}`;
  const quotasBefore = await quotaUsage(page, slug);
  expect(quotasBefore).toMatch(/vCPUs\s+0 of \d+ used/);

  // ── Launch with a custom size ──────────────────────────────────────────────
  await page.goto(`/t/${slug}/instances`);
  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible();
  await page.getByRole('link', { name: 'Launch instance' }).first().click();
  await expect(page.getByRole('heading', { name: 'Launch instance', level: 1 })).toBeVisible();
  await page.getByRole('textbox', { name: 'Name' }).fill(name);
  await page.getByRole('combobox', { name: 'Image' }).selectOption({ label: 'Cirrus Tiny Linux' });
  await page.getByRole('radio', { name: /^tiny/ }).check();
  await expect(page.getByRole('spinbutton', { name: 'vCPUs' })).toHaveValue('1');
  await page.getByRole('spinbutton', { name: 'vCPUs' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Memory (MiB)' }).fill('384');
  await page.getByRole('spinbutton', { name: 'Disk (GiB)' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Network interfaces' }).fill('2');
  await expect(page.getByRole('radio', { name: /^Custom/ })).toBeChecked();
  // The quota outlook adds the request to what the tenant uses.
  const outlook = page.getByRole('list', { name: 'Quota after launch' });
  await expect(outlook.getByRole('meter', { name: 'vCPUs' })).toHaveAttribute('aria-valuetext', /^0 used \+ 2 = 2 of \d+$/);
  await expect(outlook.getByRole('meter', { name: 'Memory' })).toHaveAttribute('aria-valuetext', /^0 MiB used \+ 384 MiB = 384 MiB of \d+ MiB$/);
  // The price of that size, at the prices in force.
  await expect(page.getByRole('region', { name: 'Cost' }).getByText('Per hour while running')).toBeVisible();
  await page.getByRole('button', { name: 'Add tag' }).click();
  await page.getByRole('textbox', { name: 'Tag 1 key' }).fill('env');
  await page.getByRole('textbox', { name: 'Tag 1 value' }).fill('e2e');
  await page.getByRole('button', { name: 'Launch instance' }).click();

  // ── Detail page: the state changes by itself, the guest reports its hardware ──
  await page.waitForURL(new RegExp(`/t/${slug}/instances/i-[0-9a-f]{17}$`));
  const instanceUrl = page.url();
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  const state = page.getByRole('status', { name: 'State' });
  await expect(state).toHaveText('running', STATE_CHANGE);
  await expect(page.getByText('2 vCPU · 384 MiB · 2 GiB · 2 NIC')).toBeVisible();
  await expect(page.getByText('env=e2e')).toBeVisible();
  const log = page.getByRole('log', { name: 'Serial log' });
  await expect(log).toContainText('CIRRUS-HW vcpus=2', STATE_CHANGE);
  // The log follows its newest line.
  await expect
    .poll(() => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight))
    .toBeLessThan(16);
  const hw = /CIRRUS-HW .*/.exec(await log.innerText())?.[0] ?? '';
  expect(hw).toContain(' nics=2');
  expect(hw).toContain(' disk_bytes=2147483648');
  const memKb = Number(/mem_kb=(\d+)/.exec(hw)?.[1]);
  expect(memKb).toBeGreaterThan(300_000);
  expect(memKb).toBeLessThanOrEqual(393_216);
  const consoles = page.getByRole('navigation', { name: 'Consoles' });
  await expect(consoles.getByRole('link', { name: 'Open console' })).toHaveAttribute('href', `${new URL(instanceUrl).pathname}/console`);
  await expect(consoles.getByRole('link', { name: 'Open serial console' })).toHaveAttribute('href', `${new URL(instanceUrl).pathname}/serial`);
  // Actions that don't fit the state are disabled with the reason.
  await expect(page.getByRole('button', { name: 'Start', exact: true })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Start', exact: true })).toHaveAttribute('title', 'A running instance cannot be started (only a stopped one can).');
  for (const step of [/— → pending/, /pending → starting/, /starting → running/]) {
    await expect(page.getByRole('table', { name: `Events of ${name}` }).getByRole('row', { name: step })).toBeVisible();
  }

  // The list, open in a second tab, follows the changes made on the detail page without a reload.
  const listPage = await context.newPage();
  await listPage.goto(`/t/${slug}/instances`);
  const row = listPage.getByRole('row', { name: new RegExp(name) });
  await expect(row).toContainText('running');
  await expect(row).toContainText('2 vCPU · 384 MiB · 2 GiB · 2 NIC');
  await expect(row.getByRole('link', { name: `Screen of ${name}` })).toHaveAttribute('href', `${new URL(instanceUrl).pathname}/console`);
  // On a phone the table scrolls inside its box; the page itself does not.
  await listPage.setViewportSize({ width: 390, height: 800 });
  await expect(row).toBeAttached();
  expect(await listPage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  // Filters: by tag (key=value), by name.
  const noMatch = listPage.getByText('No instances match these filters.');
  await listPage.getByRole('textbox', { name: 'Tag' }).fill('env=prod');
  await expect(noMatch).toBeVisible();
  await listPage.getByRole('textbox', { name: 'Tag' }).fill('env=e2e');
  await expect(row).toBeVisible();
  await listPage.getByRole('textbox', { name: 'Tag' }).fill('');
  await listPage.getByRole('searchbox', { name: 'Name contains' }).fill('no-such-name');
  await expect(noMatch).toBeVisible();
  await listPage.getByRole('searchbox', { name: 'Name contains' }).fill(name.slice(0, 8));
  await expect(row).toBeVisible();
  await listPage.getByRole('searchbox', { name: 'Name contains' }).fill('');

  // ── Stop, start ────────────────────────────────────────────────────────────
  await page.bringToFront();
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(state).toHaveText('stopped', STATE_CHANGE);
  await expect(page.getByRole('button', { name: 'Stop', exact: true })).toBeDisabled();
  // The way there is in the history: running → stopping → stopped.
  const events = page.getByRole('table', { name: `Events of ${name}` });
  await expect(events.getByRole('row', { name: /running → stopping/ }).first()).toBeVisible();
  await expect(events.getByRole('row', { name: /stopping → stopped/ }).first()).toBeVisible();
  await listPage.bringToFront();
  await expect(row).toContainText('stopped', { timeout: 5_000 });
  await page.bringToFront();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(state).toHaveText('running', STATE_CHANGE);

  // While it exists it holds quota.
  await page.goto(`/t/${slug}/quotas`);
  const held = page.getByRole('list', { name: 'Quota usage' });
  await expect(held.getByRole('meter', { name: 'vCPUs' })).toHaveAttribute('aria-valuetext', /^2 of \d+ used$/);
  await expect(held.getByRole('meter', { name: 'Memory' })).toHaveAttribute('aria-valuetext', /^384 MiB of \d+ MiB used$/);
  await expect(held.getByRole('meter', { name: 'Network interfaces' })).toHaveAttribute('aria-valuetext', /^2 of \d+ used$/);
  await page.goto(instanceUrl);
  await expect(state).toHaveText('running');

  // ── Bulk stop from the list; the detail page follows ───────────────────────
  await listPage.bringToFront();
  await expect(row).toContainText('running', { timeout: 5_000 });
  await row.getByRole('checkbox', { name: `Select ${name}` }).check();
  await listPage.getByRole('button', { name: 'Stop selected' }).click();
  await listPage.getByRole('group', { name: 'Stop 1 instance?' }).getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(listPage.getByText('1 instance asked to stop; 0 refused.')).toBeVisible();
  await expect(row).toContainText('stopped', STATE_CHANGE);
  await page.bringToFront();
  await expect(state).toHaveText('stopped', { timeout: 5_000 });

  // ── Reboot, then force stop (after confirming) ─────────────────────────────
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(state).toHaveText('running', STATE_CHANGE);
  await page.getByRole('button', { name: 'Reboot', exact: true }).click();
  await expect(events.getByRole('row', { name: /Reboot requested\./ })).toBeVisible();
  await expect(state).toHaveText('running', STATE_CHANGE);
  await page.getByRole('button', { name: 'Force stop', exact: true }).click();
  await page.getByRole('group', { name: `Cut the power of ${name} without waiting for it to shut down?` }).getByRole('button', { name: 'Force stop' }).click();
  await expect(state).toHaveText('stopped', STATE_CHANGE);
  await expect(events.getByRole('row', { name: /Force stop requested\./ })).toBeVisible();

  // ── Terminate, after confirming ───────────────────────────────────────────
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('group', { name: `Terminate ${name}? Its disk and snapshots are deleted.` })).toBeVisible();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(state).toHaveText('terminated', STATE_CHANGE);
  await expect(page.getByRole('button', { name: 'Terminate', exact: true })).toHaveAttribute('title', 'This instance is terminated.');

  // Gone from the default list; there with the Terminated filter.
  await listPage.bringToFront();
  await expect(listPage.getByRole('heading', { name: 'No instances yet' })).toBeVisible({ timeout: 5_000 });
  await listPage.getByRole('combobox', { name: 'State' }).selectOption('terminated');
  await expect(row).toContainText('terminated');
  // The filter is in the address: a reload keeps it.
  await expect(listPage).toHaveURL(/\?state=terminated$/);
  await listPage.reload();
  await expect(listPage.getByRole('combobox', { name: 'State' })).toHaveValue('terminated');
  await expect(row).toContainText('terminated');
  await listPage.close();

  // The terminated instance keeps its page, read only.
  await page.goto(instanceUrl);
  await expect(state).toHaveText('terminated');
  for (const action of ['Start', 'Stop', 'Force stop', 'Reboot', 'Terminate', 'Open console', 'Open serial console']) {
    await expect(page.getByRole('button', { name: action, exact: true })).toBeDisabled();
  }

  // Quota usage is back where it was.
  await expect.poll(() => quotaUsage(page, slug)).toBe(quotasBefore);
  expect(errors).toEqual([]);
});

test('a launch over the vCPU quota shows the server’s refusal beside the field and creates nothing', async ({ page }) => {
  const slug = await signUp(page, newAccount('quota'));
  await page.goto(`/t/${slug}/instances/new`);
  await page.getByRole('textbox', { name: 'Name' }).fill('too-big');
  await page.getByRole('spinbutton', { name: 'vCPUs' }).fill('20');
  const outlook = page.getByRole('list', { name: 'Quota after launch' });
  await expect(outlook.getByRole('meter', { name: 'vCPUs' })).toHaveAttribute('aria-valuetext', /^0 used \+ 20 = 20 of 16$/);
  await expect(outlook.getByText('Won’t fit: this needs 20 and only 16 are left.')).toBeVisible();

  await page.getByRole('button', { name: 'Launch instance' }).click();
  const refusal = page.getByText('vCPUs quota exceeded: this launch needs 20, the tenant uses 0 of its 16 limit, so 16 are left.');
  await expect(refusal).toBeVisible();
  await expect(page.getByRole('spinbutton', { name: 'vCPUs' })).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(new RegExp(`/t/${slug}/instances/new$`));

  // Bad input is caught before it is sent.
  await page.getByRole('textbox', { name: 'Name' }).fill('');
  await page.getByRole('spinbutton', { name: 'vCPUs' }).fill('1');
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await expect(page.getByText('Give the instance a name.')).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Name' })).toHaveAttribute('aria-invalid', 'true');
  // The first field to fix has the focus.
  await expect(page.getByRole('textbox', { name: 'Name' })).toBeFocused();
  await page.getByRole('button', { name: 'Add tag' }).click();
  await page.getByRole('textbox', { name: 'Tag 1 value' }).fill('orphan');
  await page.getByRole('textbox', { name: 'Name' }).fill('fine-name');
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await expect(page.getByText('Give this tag a key, or remove it.')).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Tag 1 key' })).toBeFocused();
  await page.getByRole('button', { name: 'Remove tag 1' }).click();
  await expect(page.getByRole('textbox', { name: 'Tag 1 key' })).toHaveCount(0);

  await page.goto(`/t/${slug}/instances`);
  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible();
  await page.getByRole('combobox', { name: 'State' }).selectOption('all');
  await expect(page.getByText('No instances match these filters.')).toBeVisible();
});

test('a viewer sees instances but every change is disabled with the reason', async ({ page, browser }) => {
  const { slug, teammatePage: vpage, teammateContext: vctx } = await ownerWithTeammate(page, browser, 'viewer', 'inst');

  await vpage.goto(`/t/${slug}/instances`);
  const launch = vpage.getByRole('button', { name: 'Launch instance' }).first();
  await expect(launch).toBeDisabled();
  await expect(launch).toHaveAttribute('title', 'Viewers cannot change instances.');
  await vpage.goto(`/t/${slug}/instances/new`);
  await expect(vpage.getByRole('list', { name: 'Quota after launch' }).getByRole('meter', { name: 'vCPUs' })).toBeVisible();
  await expect(vpage.getByRole('button', { name: 'Launch instance' })).toHaveAttribute('title', 'Viewers cannot change instances.');
  await expect(vpage.getByRole('button', { name: 'Launch instance' })).toBeDisabled();
  await vctx.close();
});
