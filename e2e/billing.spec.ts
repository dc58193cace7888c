import { expect, test, type Page } from '@playwright/test';
import { admin, launchTiny, newAccount, openLaunchForm, ownerWithTeammate, signIn, signUp, STATE_CHANGE } from './helpers';

// A running instance's lines: compute, its NICs' rate (billed while running), disk and NICs.
const RESOURCES = ['vcpu', 'memory_mib', 'bandwidth_mbit', 'disk_gib', 'nic'];

type Summary = { totalMicro: number; currency: string; byInstance: { instanceId: string; name: string; amountMicro: number }[] };

/** The exact numbers behind the page, through the same tRPC endpoint the page uses. */
async function billingSummary(page: Page, tenantId: string): Promise<Summary> {
  const res = await page.request.get('/api/trpc/billing.summary?input=' + encodeURIComponent(JSON.stringify({ json: { tenantId } })));
  expect(res.status()).toBe(200);
  return (await res.json()).result.data.json as Summary;
}

/** Rows of a CSV without quoted commas (ours has none for these fields), header first. */
function csvRows(text: string): string[][] {
  return text
    .trim()
    .split(/\r\n/)
    .map((l) => l.split(','));
}

/** Console errors, less the browser's own lines for the favicon and for refusals a test asks for on purpose. */
function collectConsoleErrors(page: Page, expectedRefusal?: RegExp): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    const where = m.location().url;
    if (m.type() !== 'error' || where.endsWith('/favicon.ico')) return;
    if (expectedRefusal?.test(where) && /status of 4\d\d/.test(m.text())) return;
    errors.push(`${m.text()} (${where})`);
  });
  return errors;
}

test('a tiny instance’s cost shows on the billing page, in the invoice and ledger CSVs, and against a hard-capped budget', async ({ page }) => {
  test.setTimeout(300_000);
  // The hard cap's refusal of a launch below is a 4xx the browser logs.
  const errors = collectConsoleErrors(page, /\/api\/trpc\/instances\.launch/);
  const slug = await signUp(page, newAccount('bill'));
  const name = `e2e-bill-${Date.now().toString(36)}`;

  // ── Launch, run, stop, terminate ─────────────────────────────────────────
  const instanceUrl = await launchTiny(page, slug, name);
  const instanceId = instanceUrl.split('/').pop()!;
  const state = page.getByRole('status', { name: 'State' });
  // While it runs, the page's month-to-date total ticks up by itself and the forecast names a rate.
  await page.goto(`/t/${slug}/billing`);
  const monthToDate = page.getByRole('region', { name: 'Month to date' });
  await expect(monthToDate).toContainText('$');
  const first = await monthToDate.getByRole('paragraph').first().innerText();
  await expect(monthToDate.getByRole('paragraph').first()).not.toHaveText(first, { timeout: 15_000 });
  await expect(page.getByRole('region', { name: 'Forecast to month end' })).toContainText(/at \$0\.\d+ per hour/);
  await page.goto(instanceUrl);
  await expect(state).toHaveText('running');
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(state).toHaveText('stopped', STATE_CHANGE);
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('group', { name: `Terminate ${name}? Its disk and snapshots are deleted.` })).toBeVisible();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(state).toHaveText('terminated', STATE_CHANGE);

  // ── The billing page ──────────────────────────────────────────────────────
  await page.goto(`/t/${slug}/billing`);
  await expect(page.getByRole('heading', { name: 'Billing', level: 1 })).toBeVisible();
  const invoiceLink = page.getByRole('link', { name: "Download this month's invoice (CSV)" });
  const invoiceHref = (await invoiceLink.getAttribute('href'))!;
  const tenantId = new URL(invoiceHref, page.url()).searchParams.get('tenantId')!;
  // Everything is closed after terminate: the total no longer moves.
  const summary = await billingSummary(page, tenantId);
  expect(summary.totalMicro).toBeGreaterThan(0);
  expect(summary.byInstance.map((i) => i.instanceId)).toEqual([instanceId]);
  const totalText = await page.evaluate(
    ({ micro, currency }) => (micro / 1e6).toLocaleString(undefined, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 6 }),
    { micro: summary.totalMicro, currency: summary.currency },
  );
  await expect(page.getByRole('region', { name: 'Month to date' })).toContainText(totalText);
  await expect(page.getByRole('region', { name: 'Forecast to month end' })).toContainText(totalText);
  const byInstance = page.getByRole('table', { name: 'Cost by instance' });
  await expect(byInstance.getByRole('link', { name })).toHaveAttribute('href', `/t/${slug}/instances/${instanceId}`);
  await expect(byInstance.getByRole('row', { name: new RegExp(name) })).toContainText(totalText);
  const byResource = page.getByRole('table', { name: 'Cost by resource' });
  for (const r of ['vCPUs', 'Memory', 'Disk', 'Network interfaces']) await expect(byResource.getByRole('row', { name: new RegExp(`^${r} `) })).toBeVisible();
  // The chart's numbers are in a table too.
  await page.getByText('Show the numbers').click();
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.getByRole('table', { name: /^Daily cost, .* by day$/ }).getByRole('row', { name: new RegExp(`^${today} `) })).toBeVisible();
  // This month's invoice lines, in the page.
  await page.getByRole('button', { name: /^Show .* lines$/ }).first().click();
  await expect(page.getByRole('table', { name: /^Invoice lines, / }).getByRole('row', { name: new RegExp(name) })).toHaveCount(RESOURCES.length);

  // ── The invoice CSV agrees with the page, to the micro-unit ───────────────
  const invoice = await page.request.get(invoiceHref);
  expect(invoice.status()).toBe(200);
  expect(invoice.headers()['content-type']).toContain('text/csv');
  const rows = csvRows(await invoice.text());
  expect(rows[0]).toEqual(['month', 'instance_id', 'instance_name', 'resource', 'seconds', 'unit_seconds', 'amount_usd', 'amount_micro', 'image_id', 'image_name', 'volume_id', 'volume_name']);
  const lines = rows.filter((r) => r[1] === instanceId);
  expect(lines.map((r) => r[3]).sort()).toEqual([...RESOURCES].sort());
  expect(lines.every((r) => r[2] === name)).toBe(true);
  const total = rows.find((r) => r[2] === 'TOTAL')!;
  expect(Number(total[7])).toBe(summary.totalMicro);
  expect(lines.reduce((a, r) => a + Number(r[7]), 0)).toBe(summary.totalMicro);

  // ── The raw ledger for today ─────────────────────────────────────────────
  await expect(page.getByLabel('First day (UTC)')).toHaveValue(today);
  await expect(page.getByLabel('Last day (UTC)')).toHaveValue(today);
  const ledgerHref = (await page.getByRole('link', { name: 'Download ledger (CSV)' }).getAttribute('href'))!;
  const ledger = await page.request.get(ledgerHref);
  expect(ledger.status()).toBe(200);
  const segments = csvRows(await ledger.text());
  expect(segments[0]).toEqual(['segment_id', 'instance_id', 'instance_name', 'resource', 'quantity', 'started_at', 'ended_at', 'image_id', 'image_name', 'volume_id', 'volume_name']);
  const mine = segments.filter((r) => r[1] === instanceId);
  expect([...new Set(mine.map((r) => r[3]))].sort()).toEqual([...RESOURCES].sort());
  expect(mine.every((r) => r[6] !== '')).toBe(true);
  // A period that ends before it starts is refused in the form.
  await page.getByLabel('First day (UTC)').fill('2026-11-20');
  await page.getByLabel('Last day (UTC)').fill('2026-11-19');
  await expect(page.getByText('The last day cannot be before the first.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Download ledger (CSV)' })).toHaveCount(0);

  // ── A hard-capped budget below the spend: the 100 % warning ───────────────
  await expect(page.getByText('No budget is set: costs are not limited.')).toBeVisible();
  const amount = page.getByRole('textbox', { name: 'Monthly budget (USD)' });
  await amount.fill('0.1234567');
  await page.getByRole('button', { name: 'Save budget' }).click();
  await expect(page.getByText('A monthly amount can have at most 6 decimals (one micro-unit).')).toBeVisible();
  await expect(amount).toHaveAttribute('aria-invalid', 'true');
  await amount.fill('0.000001');
  await page.getByRole('checkbox', { name: 'Hard cap' }).check();
  await page.getByRole('button', { name: 'Save budget' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The budget was saved.' })).toBeVisible();
  const warning = page.getByRole('alert').filter({ hasText: '100 % of the monthly budget is used.' });
  await expect(warning).toBeVisible();
  await expect(warning).toContainText('The hard cap is in force');
  await expect(page.getByRole('meter', { name: 'This month' })).toHaveAttribute('aria-valuenow', '100');

  // On a phone the tables scroll inside their boxes; the page itself does not.
  await page.setViewportSize({ width: 390, height: 800 });
  await expect(byInstance).toBeVisible();
  const overflow = await page.evaluate(() => ({
    by: document.documentElement.scrollWidth - window.innerWidth,
    // What sticks out, so a failure says where to look.
    culprits: [...document.querySelectorAll('main *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !el.closest('.overflow-x-auto'))
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${String(el.className).slice(0, 60)}`),
  }));
  expect(overflow.by, overflow.culprits.join('\n')).toBeLessThanOrEqual(0);
  await page.screenshot({ path: '/tmp/shots/billing-phone.png', fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.screenshot({ path: '/tmp/shots/billing-desktop.png', fullPage: true });

  // The hard cap refuses a launch, with the reason.
  await openLaunchForm(page, slug);
  await page.getByRole('textbox', { name: 'Name' }).fill(`${name}-2`);
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'which is a hard cap' })).toBeVisible();

  // Removing the budget takes the warning away.
  await page.goto(`/t/${slug}/billing`);
  await page.getByRole('button', { name: 'Remove budget' }).click();
  await page.getByRole('button', { name: 'Remove', exact: true }).click();
  await expect(page.getByText('No budget is set: costs are not limited.')).toBeVisible();
  expect(errors).toEqual([]);
});

test('a member sees the budget but cannot change it', async ({ page, browser }) => {
  const { slug, teammatePage: mpage, teammateContext: mctx } = await ownerWithTeammate(page, browser, 'member', 'bill');

  await mpage.goto(`/t/${slug}/billing`);
  await expect(mpage.getByRole('region', { name: 'Month to date' })).toBeVisible();
  const save = mpage.getByRole('button', { name: 'Save budget' });
  await expect(save).toBeDisabled();
  await expect(save).toHaveAttribute('title', 'Only owners of this tenant can change its budget.');
  await expect(mpage.getByRole('textbox', { name: 'Monthly budget (USD)' })).toBeDisabled();
  await mctx.close();
});

test('an admin sets new prices and sees the version listed; bad input is explained', async ({ browser }) => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  // The server's refusal of a start in the past is a 400 the browser logs.
  const errors = collectConsoleErrors(page, /\/api\/trpc\/admin\.prices\.set/);
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin/prices');
  await expect(page.getByRole('heading', { name: 'Price book', level: 1 })).toBeVisible();
  await expect(page.getByRole('link', { name: '← Administration' })).toHaveAttribute('href', '/admin');
  const versions = page.getByRole('table', { name: 'Price versions' });
  await expect(versions.getByRole('row', { name: /in force/ })).toHaveCount(1);
  const before = await versions.getByRole('row').count();

  const vcpu = page.getByRole('textbox', { name: 'vCPU per hour (USD)' });
  await expect(vcpu).toHaveValue(/^\d+\.\d{6}$/);
  await vcpu.fill('0.01234567');
  await page.getByRole('button', { name: 'Save prices' }).click();
  await expect(page.getByText('The vCPU price can have at most 6 decimals (one micro-unit).')).toBeVisible();
  await expect(vcpu).toHaveAttribute('aria-invalid', 'true');

  // The server refuses a start in the past, beside the field.
  await vcpu.fill('0.020000');
  const from = page.getByLabel('Effective from (optional)');
  await from.fill('2020-01-01T00:00');
  await page.getByRole('button', { name: 'Save prices' }).click();
  await expect(page.getByText('New prices cannot start in the past: past usage keeps the prices it had.').first()).toBeVisible();
  await expect(from).toHaveAttribute('aria-invalid', 'true');

  // A version scheduled for later (so the running tenants' costs don't change under the other tests).
  await from.fill('2031-01-01T00:00');
  await page.getByRole('button', { name: 'Save prices' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'New prices saved' })).toBeVisible();
  await expect(versions.getByRole('row')).toHaveCount(before + 1);
  const scheduled = versions.getByRole('row', { name: /scheduled/ });
  await expect(scheduled).toContainText('$0.02');
  await expect(scheduled).toContainText('2031');
  expect(errors).toEqual([]);
  await ctx.close();
});
