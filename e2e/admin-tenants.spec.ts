import { expect, test, type Page, type WebSocket } from '@playwright/test';
import { admin, adminSetsQuotas, adminTenantRow, launchTiny, newAccount, openLaunchForm, signIn, signUp, STATE_CHANGE } from './helpers';


async function terminate(page: Page, url: string, name: string) {
  await page.goto(url);
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('group', { name: `Terminate ${name}? Its disk and snapshots are deleted.` })).toBeVisible();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('terminated', STATE_CHANGE);
}

test('an admin lowers a tenant’s vCPU quota, approves its request for more, then suspends and reactivates it', async ({ page, browser }) => {
  test.setTimeout(360_000);
  const user = newAccount('quota-req');
  const tenantName = `${user.name}'s tenant`;
  const slug = await signUp(page, user);
  const first = `e2e-a-${Date.now().toString(36)}`;
  const firstUrl = await launchTiny(page, slug, first);

  // ── The admin lowers the vCPU quota to what is in use ────────────────────
  const { adminContext, adminPage, row } = await adminSetsQuotas(browser, tenantName, { vCPUs: '1' });
  await expect(row).toContainText('vCPUs: 1 of 1');

  // ── The tenant sees why another launch won't fit ─────────────────────────
  await openLaunchForm(page, slug);
  await page.getByRole('textbox', { name: 'Name' }).fill(`e2e-b-${Date.now().toString(36)}`);
  await page.getByRole('radio', { name: /^tiny/ }).check();
  const outlook = page.getByRole('list', { name: 'Quota after launch' });
  await expect(outlook.getByText(/^Won’t fit/)).toBeVisible();
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await expect(page.getByText(/^vCPUs quota exceeded/)).toBeVisible();

  // ── The tenant asks for 4 vCPUs ──────────────────────────────────────────
  await page.goto(`/t/${slug}/quotas`);
  const ask = page.getByRole('region', { name: 'Ask for a higher limit' });
  await ask.getByRole('combobox', { name: 'Resource' }).selectOption('vcpus');
  await ask.getByRole('spinbutton', { name: 'New limit' }).fill('4');
  await ask.getByRole('textbox', { name: 'Reason' }).fill('We need a second build machine for the release.');
  await ask.getByRole('button', { name: 'Request limit' }).click();
  await expect(ask.getByText('Your request for 4 vCPUs was sent to the administrators.')).toBeVisible();
  const requests = page.getByRole('table', { name: 'Quota requests' });
  await expect(requests.getByRole('row', { name: /vCPUs.*pending/ })).toBeVisible();

  // ── The admin approves it ────────────────────────────────────────────────
  await adminPage.goto('/admin/quota-requests');
  const pending = adminPage.getByRole('listitem', { name: `${tenantName}: vCPUs to 4` });
  await pending.getByRole('textbox', { name: 'Comment (optional)' }).fill('Approved for the release.');
  await pending.getByRole('button', { name: 'Approve' }).click();
  await expect(pending).toHaveCount(0);
  await expect(adminPage.getByRole('listitem', { name: `${tenantName}: vCPUs approved` })).toContainText('Approved for the release.');

  // The tenant sees the outcome and the comment, and the second launch fits.
  await page.reload();
  await expect(requests.getByRole('row', { name: /vCPUs.*approved.*Approved for the release\./ })).toBeVisible();
  const second = `e2e-b-${Date.now().toString(36)}`;
  const secondUrl = await launchTiny(page, slug, second);
  await terminate(page, secondUrl, second);

  // ── Suspension closes the open console, stops the running instance and refuses changes ──
  const consoleSockets: WebSocket[] = [];
  page.on('websocket', (ws) => {
    if (ws.url().includes('/api/console/ws')) consoleSockets.push(ws);
  });
  // Note each socket's close code and reason as the page sees them (Playwright does not expose them).
  await page.addInitScript(() => {
    const closes: { code: number; reason: string }[] = [];
    (window as unknown as { consoleCloses: typeof closes }).consoleCloses = closes;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args: ConstructorParameters<typeof Native>) {
        super(...args);
        this.addEventListener('close', (e) => closes.push({ code: e.code, reason: e.reason }));
      }
    };
  });
  await page.goto(`${firstUrl}/console`);
  const connection = page.getByRole('status', { name: 'Connection' });
  await expect(connection).toHaveText('Connected', STATE_CHANGE);
  const openConsole = consoleSockets.at(-1)!;
  expect(openConsole.isClosed()).toBe(false);
  await adminTenantRow(adminPage, tenantName);
  await row.getByRole('button', { name: `Manage ${tenantName}` }).click();
  await adminPage.getByRole('textbox', { name: 'Reason for suspension' }).fill('Unpaid invoices');
  await adminPage.getByRole('button', { name: 'Suspend tenant' }).click();
  await adminPage
    .getByRole('group', { name: `Suspend ${tenantName} and stop its running instances?` })
    .getByRole('button', { name: 'Suspend', exact: true })
    .click();
  await expect(adminPage.getByText(`${tenantName} was suspended; 1 running instance was stopped.`)).toBeVisible();
  await expect(row).toContainText('suspended');
  // The server closes the open console within seconds, saying why, and the page shows no screen any more.
  await expect.poll(() => openConsole.isClosed(), { timeout: 10_000 }).toBe(true);
  expect(await page.evaluate(() => (window as unknown as { consoleCloses: unknown[] }).consoleCloses)).toContainEqual({
    code: 4403,
    reason: 'This tenant was suspended by an administrator: Unpaid invoices.',
  });
  await expect(page.locator('canvas')).toHaveCount(0, { timeout: 10_000 });
  await expect(connection).not.toHaveText('Connected');
  // Opened again, the console page says why it cannot open.
  await page.reload();
  await expect(connection).toHaveText('Tenant suspended');
  await expect(page.getByText(`${tenantName} is suspended: Unpaid invoices. Consoles open again once an administrator reactivates it.`)).toBeVisible();

  await page.goto(firstUrl);
  const state = page.getByRole('status', { name: 'State' });
  await expect(state).toHaveText('stopped', STATE_CHANGE);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(
    page.getByText(`${tenantName} is suspended: Unpaid invoices. Nothing can be changed until an administrator reactivates it.`).first(),
  ).toBeVisible();
  await expect(state).toHaveText('stopped');

  // ── Reactivated, it starts again ─────────────────────────────────────────
  await row.getByRole('button', { name: 'Reactivate' }).click();
  await expect(adminPage.getByText(`${tenantName} was reactivated.`)).toBeVisible();
  await expect(row).toContainText('active');
  await page.goto(firstUrl);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(state).toHaveText('running', STATE_CHANGE);
  await terminate(page, firstUrl, first);
  await adminContext.close();
});

test('an admin finds a tenant’s instance on /admin/instances, stops it (named in its history) and terminates it', async ({ page, browser }) => {
  test.setTimeout(240_000);
  const slug = await signUp(page, newAccount('adm-inst'));
  const name = `e2e-adm-${Date.now().toString(36)}`;
  const url = await launchTiny(page, slug, name);

  const adminContext = await browser.newContext();
  const adminPage = await adminContext.newPage();
  await adminPage.setViewportSize({ width: 390, height: 844 });
  await signIn(adminPage, admin.email, admin.password);
  await adminPage.goto('/admin/instances');
  await adminPage.getByRole('searchbox', { name: 'Name contains' }).fill(name);
  const row = adminPage.getByRole('row', { name: new RegExp(name) });
  await expect(row).toHaveCount(1);

  // Its tenant's page counts the instance and links back here, filtered to that tenant alone.
  const tenantLink = row.getByRole('cell').nth(1).getByRole('link');
  const tenantName = (await tenantLink.textContent())!;
  await tenantLink.click();
  await adminPage.waitForURL(/\/admin\/tenants\/[0-9a-f-]{36}$/);
  await adminPage.getByRole('link', { name: '1 not terminated' }).click();
  await adminPage.waitForURL(/\/admin\/instances\?tenant=[0-9a-f-]{36}$/);
  const filters = adminPage.getByRole('search', { name: 'Filter instances' });
  await expect(filters).toContainText(`Only ${tenantName}`);
  await expect(adminPage.getByRole('table', { name: 'All instances' }).getByRole('row')).toHaveCount(2);
  await expect(row).toHaveCount(1);
  await expect(row.getByRole('cell').nth(2)).toHaveText(/^running/);
  await row.getByRole('button', { name: `Stop ${name}`, exact: true }).click();
  await expect(row.getByRole('cell').nth(2)).toHaveText(/^stopped/, STATE_CHANGE);
  await expect(row.getByRole('button', { name: `Stop ${name}`, exact: true })).toBeDisabled();

  await page.goto(url);
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('stopped', STATE_CHANGE);
  await expect(page.getByText(`Stop requested by administrator ${admin.email}.`).first()).toBeVisible();

  await adminPage.getByRole('combobox', { name: 'State' }).selectOption('stopped');
  await row.getByRole('button', { name: `Terminate ${name}` }).click();
  await adminPage.getByRole('group', { name: `Terminate ${name}? Its disk and snapshots are deleted.` }).getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(row).toHaveCount(0, STATE_CHANGE);
  await page.reload();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText(/terminat/);
  await adminContext.close();
});
