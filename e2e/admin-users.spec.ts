import { expect, test, type Page } from '@playwright/test';
import { admin, newAccount, signIn, signUp } from './helpers';

/** Try to sign in and expect the refusal (signIn() in helpers waits for success). */
async function expectSignInRefused(page: Page, email: string, password: string) {
  await page.goto('/signin');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toContainText('The e-mail or password is not right.');
  await expect(page).toHaveURL(/\/signin/);
}

async function findUser(page: Page, email: string) {
  await page.goto('/admin/users');
  await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search' }).fill(email);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const row = page.getByRole('row').filter({ hasText: email });
  await expect(row).toHaveCount(1);
  return row;
}

test('an admin disables a user, whose session stops at once, and enables them again', async ({ page, browser }) => {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });

  const user = newAccount('disable');
  const userContext = await browser.newContext();
  const userPage = await userContext.newPage();
  await signUp(userPage, user);

  await signIn(page, admin.email, admin.password);
  let row = await findUser(page, user.email);
  await expect(row.getByText('active', { exact: true })).toBeVisible();
  await row.getByRole('button', { name: `Disable ${user.email}` }).click();
  await row.getByRole('group', { name: /^Disable / }).getByRole('button', { name: 'Disable' }).click();
  await expect(page.getByRole('status').filter({ hasText: `${user.email} is disabled.` })).toBeVisible();
  await expect(row.getByText('disabled', { exact: true })).toBeVisible();

  // Their session is refused on the very next request.
  await userPage.reload();
  await expect(userPage).toHaveURL(/\/signin/);
  await expectSignInRefused(userPage, user.email, user.password);

  row = await findUser(page, user.email);
  await row.getByRole('button', { name: `Enable ${user.email}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `${user.email} can sign in again.` })).toBeVisible();
  await expect(row.getByText('active', { exact: true })).toBeVisible();

  await signIn(userPage, user.email, user.password);
  await expect(userPage).toHaveURL(/\/t\/[a-z0-9-]+\/instances$/);
  await userContext.close();
  expect(errors).toEqual([]);
});

test("an admin's own Disable is disabled, with the reason", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, admin.email, admin.password);
  const row = await findUser(page, admin.email);
  const disable = row.getByRole('button', { name: `Disable ${admin.email}` });
  await expect(disable).toBeDisabled();
  await expect(disable).toHaveAccessibleDescription('You cannot disable your own account.');
  await expect(row.getByText('admin', { exact: true })).toBeVisible();
  // At phone width the table scrolls inside its frame; the page itself does not.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});

test('the hosts page lists the e2e host, TCG and alive, with the isolation it enforces', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin/hosts');
  await expect(page.getByRole('heading', { name: 'Hosts', level: 1 })).toBeVisible();
  const table = page.getByRole('table', { name: 'Hosts' });
  const hostRow = table.getByRole('row').filter({ hasText: /tcg/i }).first();
  await expect(hostRow).toBeVisible();
  await expect(hostRow.getByText('alive', { exact: true })).toBeVisible();
  // What keeps guests apart there: its own user, a cgroup and seccomp each; no KVM on these machines, and why it matters.
  const enforced = hostRow.getByRole('list', { name: 'Enforced here' });
  for (const piece of ['user per guest: yes', 'cgroups: yes', 'seccomp: yes', 'KVM: no']) await expect(enforced.getByText(piece, { exact: true })).toBeVisible();
  await hostRow.getByText(/^Not enforced \(\d+\)$/).click();
  await expect(hostRow.getByText(/^hardware virtualization \(no usable KVM/)).toBeVisible();
  await expect(page.getByLabel('CPU ratio (×)').first()).toBeVisible();
  await expect(page.getByRole('switch', { name: /^Maintenance for / }).first()).toHaveAttribute('aria-checked', 'false');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.goto('/admin/quotas');
  await expect(page.getByRole('heading', { name: 'Quotas', level: 1 })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});

test('an admin edits a host’s ratios and maintenance, refusing a bad ratio', async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin/hosts');
  const form = page.getByRole('form', { name: /^Settings for / }).first();
  const cpu = form.getByLabel('CPU ratio (×)');
  const original = await cpu.inputValue();

  await cpu.fill('abc');
  await form.getByRole('button', { name: 'Save settings' }).click();
  await expect(form.getByText('Enter the CPU ratio as a number like 4.0')).toBeVisible();
  await expect(cpu).toHaveAttribute('aria-invalid', 'true');

  await cpu.fill('5.5');
  await form.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByRole('status').filter({ hasText: /^Settings for .* saved\.$/ })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Hosts' })).toContainText('CPU 5.5×');
  await cpu.fill(original);
  await form.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByRole('table', { name: 'Hosts' })).toContainText(`CPU ${original}×`);

  const maintenance = page.getByRole('switch', { name: /^Maintenance for / }).first();
  await maintenance.click();
  await expect(maintenance).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByRole('table', { name: 'Hosts' }).getByText('maintenance', { exact: true })).toBeVisible();
  await maintenance.click();
  await expect(maintenance).toHaveAttribute('aria-checked', 'false');
});

test('an admin switches placement from spread to pack and back, kept across a reload', async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin/hosts');
  const group = page.getByRole('group', { name: 'Placement strategy' });
  const spread = group.getByRole('radio', { name: /^Spread/ });
  const pack = group.getByRole('radio', { name: /^Pack/ });
  await expect(spread).toBeChecked();
  await pack.click();
  await expect(page.getByRole('status').filter({ hasText: 'New instances are now placed by pack.' })).toBeVisible();
  await expect(pack).toBeChecked();
  await page.reload();
  await expect(pack).toBeChecked();
  await spread.click();
  await expect(spread).toBeChecked();
  await expect(page.getByRole('status').filter({ hasText: 'New instances are now placed by spread.' })).toBeVisible();
});

test('an admin saves the default quotas; a tenant override needs a tenant id', async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin/quotas');
  const defaults = page.getByRole('form', { name: 'Default quotas' });
  await expect(defaults.getByLabel('Instances')).not.toHaveValue('');
  await defaults.getByRole('button', { name: 'Save defaults' }).click();
  await expect(defaults.getByRole('status')).toHaveText('Default quotas saved.');

  const override = page.getByRole('form', { name: 'Tenant override' });
  await expect(page.getByText('Tenants → Manage does the same from the list.')).toBeVisible();
  await override.getByLabel('Tenant id').fill('not-a-uuid');
  await override.getByLabel('vCPUs (optional)').fill('8');
  await override.getByRole('button', { name: 'Save override' }).click();
  await expect(override.getByText('Enter the tenant id: a UUID of 36 characters.')).toBeVisible();
  await override.getByLabel('Tenant id').fill('00000000-0000-4000-8000-000000000000');
  await override.getByRole('button', { name: 'Save override' }).click();
  await expect(override.getByRole('alert')).toHaveText('That tenant was not found.');
});
