import crypto from 'node:crypto';
import { expect, type Browser, type Page } from '@playwright/test';

export const admin = { email: 'admin@e2e.test', password: process.env.CIRRUS_E2E_ADMIN_PASSWORD ?? '' };

export function newAccount(label = 'user') {
  const id = crypto.randomBytes(4).toString('hex');
  return { name: `E2E ${label} ${id}`, email: `${label}-${id}@e2e.test`, password: `pw-${crypto.randomBytes(8).toString('hex')}` };
}

export type Account = ReturnType<typeof newAccount>;

/** Sign up through the UI and wait for the new tenant's Instances page; returns the tenant slug. */
export async function signUp(page: Page, account: Account): Promise<string> {
  await page.goto('/signup');
  await page.getByLabel('Name').fill(account.name);
  await page.getByLabel('E-mail').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(/\/t\/[a-z0-9-]+\/instances$/);
  await expect(page.getByRole('heading', { name: 'Instances', level: 1 })).toBeVisible();
  return new URL(page.url()).pathname.split('/')[2]!;
}

export async function signIn(page: Page, email: string, password: string) {
  await page.goto('/signin');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/signin'));
}

export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/signin/);
}

/**
 * An owner signs up on `page`; a second user signs up in a browser context of
 * their own and the owner adds them to the new tenant with `role`.
 */
export async function ownerWithTeammate(page: Page, browser: Browser, role: 'member' | 'viewer', label: string) {
  const teammate = newAccount(`${label}-mate`);
  const teammateContext = await browser.newContext();
  const teammatePage = await teammateContext.newPage();
  await signUp(teammatePage, teammate);
  const slug = await signUp(page, newAccount(`${label}-own`));
  await page.goto(`/t/${slug}/settings`);
  await page.getByRole('textbox', { name: 'E-mail' }).fill(teammate.email);
  await page.getByLabel('Role', { exact: true }).selectOption(role);
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByText(`${teammate.email} was added as ${role}.`)).toBeVisible();
  return { slug, teammate, teammatePage, teammateContext };
}

/**
 * Open the launch form and wait until it is live: the cost estimate only shows
 * once the page is hydrated and has asked the server, so a click after this
 * reaches React, not a bare HTML form.
 */
export async function openLaunchForm(page: Page, slug: string) {
  await page.goto(`/t/${slug}/instances/new`);
  await expect(page.getByRole('region', { name: 'Cost' }).getByText('Per hour while running')).toBeVisible({ timeout: 30_000 });
}

/**
 * Open /admin/tenants searched down to one tenant and return its row. The list
 * is paged, so a tenant made by this run need not be on the first page. The
 * table comes from the API, so once it shows the search form reaches React.
 */
export async function adminTenantRow(page: Page, tenantName: string) {
  await page.goto('/admin/tenants');
  await expect(page.getByRole('table', { name: 'Tenants' })).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search tenants' }).fill(tenantName);
  await page.getByRole('search', { name: 'Search tenants' }).getByRole('button', { name: 'Search' }).click();
  const row = page.getByRole('table', { name: 'Tenants' }).getByRole('row', { name: new RegExp(tenantName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) });
  await expect(row).toHaveCount(1);
  return row;
}

/**
 * An admin (in a context of its own) sets some of a tenant's quotas from the
 * tenant's row in /admin/tenants; returns the admin's page and the row, still open.
 */
export async function adminSetsQuotas(browser: Browser, tenantName: string, limits: Record<string, string>) {
  const adminContext = await browser.newContext();
  const adminPage = await adminContext.newPage();
  await signIn(adminPage, admin.email, admin.password);
  const row = await adminTenantRow(adminPage, tenantName);
  await row.getByRole('button', { name: `Manage ${tenantName}` }).click();
  const quotas = adminPage.getByRole('form', { name: `Quotas of ${tenantName}` });
  for (const [label, value] of Object.entries(limits)) await quotas.getByRole('spinbutton', { name: label }).fill(value);
  await quotas.getByRole('button', { name: 'Save quotas' }).click();
  await expect(adminPage.getByText(`The quotas of ${tenantName} were saved.`)).toBeVisible();
  return { adminContext, adminPage, row };
}

/** How long a real (TCG) guest may take to change state. */
export const STATE_CHANGE = { timeout: 60_000 };

/**
 * Launch a tiny Cirrus Tiny Linux instance from the launch form and return
 * its page's path, once it runs (or at once, with `waitUntilRunning: false`).
 */
export async function launchTiny(page: Page, slug: string, name: string, { waitUntilRunning = true } = {}) {
  await openLaunchForm(page, slug);
  await page.getByRole('textbox', { name: 'Name' }).fill(name);
  await page.getByRole('combobox', { name: 'Image' }).selectOption({ label: 'Cirrus Tiny Linux' });
  await page.getByRole('radio', { name: /^tiny/ }).check();
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await page.waitForURL(new RegExp(`/t/${slug}/instances/i-[0-9a-f]{17}$`));
  if (waitUntilRunning) await expect(page.getByRole('status', { name: 'State' })).toHaveText('running', STATE_CHANGE);
  return new URL(page.url()).pathname;
}
