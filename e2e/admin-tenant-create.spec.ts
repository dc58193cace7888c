import { expect, test } from '@playwright/test';
import { admin, adminTenantRow, newAccount, signIn, signOut, signUp } from './helpers';

// No guests are launched here: creating a tenant and reading its members needs none.

test('an admin creates a tenant for a signed-up user, who then owns it and switches to it', async ({ page, browser }) => {
  const user = newAccount('tc-owner');
  const ownSlug = await signUp(page, user);
  const tenantName = `E2E admin-made ${Date.now().toString(36)}`;
  const stranger = newAccount('tc-nobody').email;

  const adminContext = await browser.newContext();
  const adminPage = await adminContext.newPage();
  await signIn(adminPage, admin.email, admin.password);
  await adminPage.goto('/admin/tenants');
  // The table comes from the API, so once it shows the page is live and the form reaches React.
  await expect(adminPage.getByRole('table', { name: 'Tenants' })).toBeVisible();
  const create = adminPage.getByRole('region', { name: 'Create tenant' });
  const nameField = create.getByRole('textbox', { name: 'Tenant name' });
  const ownerField = create.getByRole('textbox', { name: 'Owner e-mail' });
  const submit = create.getByRole('button', { name: 'Create tenant' });

  // ── Refusals land beside the field they are about ───────────────────────
  await nameField.fill('x');
  await ownerField.fill(user.email);
  await submit.click();
  await expect(nameField).toHaveAccessibleDescription(/Tenant name must be at least 2 characters\./);
  await expect(ownerField).not.toHaveAttribute('aria-invalid', 'true');

  await nameField.fill(tenantName);
  await ownerField.fill(stranger);
  await submit.click();
  await expect(ownerField).toHaveAccessibleDescription(new RegExp(`No Cirrus user has the e-mail ${stranger}\\.`));
  await expect(ownerField).toHaveAttribute('aria-invalid', 'true');
  await expect(nameField).not.toHaveAttribute('aria-invalid', 'true');
  await expect(adminPage.getByRole('link', { name: tenantName, exact: true })).toHaveCount(0);

  // ── Created for the user who signed up ──────────────────────────────────
  await ownerField.fill(user.email);
  await submit.click();
  await expect(create.getByRole('status')).toHaveText(new RegExp(`^${tenantName} was created with ${user.email} as its owner\\.`));
  await expect(ownerField).not.toHaveAttribute('aria-invalid', 'true');
  await expect(nameField).toHaveValue('');
  // The paged list narrows itself to the new tenant, so the notice never names a row that is not shown.
  const row = adminPage.getByRole('table', { name: 'Tenants' }).getByRole('row', { name: new RegExp(tenantName) });
  await expect(row).toContainText('active');
  await expect(adminPage.getByRole('table', { name: 'Tenants' }).getByRole('row')).toHaveCount(2);
  await expect(adminPage.getByRole('searchbox', { name: 'Search tenants' })).not.toHaveValue('');
  // …and the search finds it again from a fresh page.
  await expect(await adminTenantRow(adminPage, tenantName)).toContainText('active');

  // ── Its detail page lists the user as owner ─────────────────────────────
  await row.getByRole('link', { name: tenantName, exact: true }).click();
  await adminPage.waitForURL(/\/admin\/tenants\/[0-9a-f-]{36}$/);
  const summary = adminPage.getByRole('region', { name: tenantName, exact: true });
  await expect(summary).toContainText('active');
  await expect(summary).toContainText('0 not terminated');
  await expect(adminPage.getByRole('list', { name: `Usage of ${tenantName}` })).toContainText('Instances: 0 of');
  const members = adminPage.getByRole('table', { name: `Members of ${tenantName}` });
  await expect(members.getByRole('row')).toHaveCount(2);
  const owner = members.getByRole('row', { name: new RegExp(user.email) });
  await expect(owner.getByRole('cell').nth(1)).toHaveText(user.name);
  await expect(owner.getByRole('cell').nth(2)).toHaveText('owner');
  await expect(owner.getByRole('cell').nth(4)).toHaveText('enabled');

  // Its changes live on the Tenants page, which the link opens searched down to it.
  await summary.getByRole('link', { name: 'Tenants', exact: true }).click();
  await adminPage.waitForURL(/\/admin\/tenants\?search=/);
  await expect(adminPage.getByRole('table', { name: 'Tenants' }).getByRole('row')).toHaveCount(2);
  await expect(adminPage.getByRole('table', { name: 'Tenants' }).getByRole('row', { name: new RegExp(tenantName) })).toBeVisible();

  // A well-formed id of no tenant says so; a malformed one is a 404.
  await adminPage.goto('/admin/tenants/00000000-0000-4000-8000-000000000000');
  await expect(adminPage.getByRole('heading', { name: 'Tenant not found' })).toBeVisible();
  const res = await adminPage.goto('/admin/tenants/not-a-tenant');
  expect(res?.status()).toBe(404);
  await adminContext.close();

  // ── The user signs in again and finds the new tenant in the switcher ───
  await signOut(page);
  await signIn(page, user.email, user.password);
  await page.goto(`/t/${ownSlug}/instances`);
  const switcher = page.getByRole('banner').getByRole('combobox', { name: 'Tenant' });
  await expect(switcher.getByRole('option', { name: `${tenantName} (owner)` })).toHaveCount(1);
  await switcher.selectOption({ label: `${tenantName} (owner)` });
  await page.waitForURL((url) => /^\/t\/[a-z0-9-]+\/instances$/.test(url.pathname) && !url.pathname.startsWith(`/t/${ownSlug}/`));
  await expect(page.getByRole('heading', { name: 'Instances', level: 1 })).toBeVisible();
  await expect(switcher).toHaveValue(new URL(page.url()).pathname.split('/')[2]!);
  await expect(switcher.locator('option:checked')).toHaveText(`${tenantName} (owner)`);
});
