import { expect, test } from '@playwright/test';
import { admin, newAccount, signIn, signUp } from './helpers';

test('an admin finds their settings changes in the audit log and downloads them as CSV', async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  // Something audited: turn sign-up off and on again.
  await page.goto('/admin');
  const toggle = page.getByRole('switch', { name: /self sign-up/ });
  await toggle.uncheck();
  await expect(page.getByText('The sign-up page is closed')).toBeVisible();
  await toggle.check();
  await expect(page.getByText('The sign-up page is open.')).toBeVisible();

  await page.goto('/admin/audit');
  await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
  await page.getByLabel('Action').fill('settings.');
  await page.getByLabel('Actor').fill(admin.email.toUpperCase());
  await page.getByRole('button', { name: 'Apply filters' }).click();

  const table = page.getByRole('table', { name: 'Audit log, newest first' });
  const rows = table.getByRole('row').filter({ hasText: 'settings.set' });
  // Newest first: sign-up turned on, and before it, off.
  await expect(rows.nth(0)).toContainText(admin.email);
  await expect(rows.nth(0)).toContainText('signupEnabled');
  await expect(rows.nth(0)).toContainText('"value": true');
  await expect(rows.nth(1)).toContainText('"value": false');
  await expect(table.getByRole('row').filter({ hasText: /instance\.|tenant\./ })).toHaveCount(0);
  await rows.nth(0).getByText('Show').click();
  await expect(rows.nth(0).getByText('"value": true')).toBeVisible();

  // The CSV carries the same filters.
  const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
  expect(href).toContain('action=settings.');
  const res = await page.request.get(href!);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toContain('text/csv');
  const csv = await res.text();
  const lines = csv.trim().split('\r\n');
  expect(lines[0]).toBe('id,at,actor,actor_user_id,tenant_id,tenant_slug,action,target_type,target_id,outcome,request_id,detail');
  const settingLines = lines.slice(1);
  expect(settingLines.length).toBeGreaterThanOrEqual(2);
  expect(settingLines.every((l) => l.includes(',settings.set,setting,signupEnabled,success,') && l.includes(admin.email))).toBe(true);
  // Oldest first: the last two are off, then on.
  expect(settingLines.at(-2)).toContain('"{""value"":false}"');
  expect(settingLines.at(-1)).toContain('"{""value"":true}"');
});

test('bad filters are explained beside the field', async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin/audit');
  await page.getByLabel('From', { exact: true }).fill('2026-01-02T00:00');
  await page.getByLabel('To', { exact: true }).fill('2026-01-01T00:00');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page.getByText('"To" must be after "From".').first()).toBeVisible();
  await expect(page.getByLabel('To', { exact: true })).toHaveAttribute('aria-invalid', 'true');
});

test('non-admins get no audit page and no CSV', async ({ page, request }) => {
  const anonymous = await request.get('/api/admin/audit-csv');
  expect(anonymous.status()).toBe(401);
  await signUp(page, newAccount('audit-plain'));
  const res = await page.goto('/admin/audit');
  expect(res?.status()).toBe(404);
  const csv = await page.request.get('/api/admin/audit-csv?action=settings.');
  expect(csv.status()).toBe(403);
  expect(await csv.text()).not.toContain('settings.set');
});
