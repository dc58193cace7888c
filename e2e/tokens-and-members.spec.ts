import { expect, test } from '@playwright/test';
import { newAccount, signIn, signOut, signUp } from './helpers';

test('an API token created in the UI authenticates tRPC calls until it is revoked', async ({ page, playwright, baseURL }) => {
  const account = newAccount('tok');
  const slug = await signUp(page, account);
  await page.goto(`/t/${slug}/settings/tokens`);
  await page.getByLabel('Token name').fill('e2e script');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.getByTestId('new-token').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^cirrus_/);

  // A separate client with no cookies: only the bearer token speaks for it.
  const api = await playwright.request.newContext({ baseURL });
  const ok = await api.get('/api/trpc/me.get', { headers: { authorization: `Bearer ${secret}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).result.data.json.user.email).toBe(account.email);
  expect((await api.get('/api/trpc/me.get')).status()).toBe(401);

  await page.reload();
  const row = page.getByRole('row', { name: /e2e script/ });
  await expect(row.getByRole('cell', { name: /\d/ }).nth(1)).toBeVisible(); // last used is now a time
  await row.getByRole('button', { name: 'Revoke e2e script' }).click();
  await page.getByRole('button', { name: 'Revoke', exact: true }).click();
  await expect(row).toContainText('Revoked');

  const refused = await api.get('/api/trpc/me.get', { headers: { authorization: `Bearer ${secret}` } });
  expect(refused.status()).toBe(401);
  await api.dispose();
});

test('an owner adds a user by e-mail as viewer; the viewer sees the tenant read-only', async ({ page, browser }) => {
  const owner = newAccount('own');
  const viewer = newAccount('view');
  // The viewer needs an account first.
  const vctx = await browser.newContext();
  const vpage = await vctx.newPage();
  await signUp(vpage, viewer);

  const slug = await signUp(page, owner);
  await page.goto(`/t/${slug}/settings`);
  await page.getByRole('textbox', { name: 'E-mail' }).fill('nobody-here@e2e.test');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByText(/No Cirrus user has the e-mail nobody-here@e2e.test/)).toBeVisible();

  await page.getByRole('textbox', { name: 'E-mail' }).fill(viewer.email);
  await page.getByLabel('Role', { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByRole('main').getByRole('status')).toHaveText(`${viewer.email} was added as viewer.`);
  await expect(page.getByRole('row', { name: new RegExp(viewer.email) })).toBeVisible();

  // The viewer switches to the new tenant and finds member management disabled, with the reason.
  await vpage.goto(`/t/${slug}/settings`);
  await expect(vpage.getByLabel('Tenant')).toHaveValue(slug);
  await expect(vpage.getByLabel(`Role of ${owner.email}`)).toBeDisabled();
  const remove = vpage.getByRole('button', { name: `Remove ${owner.email}` });
  await expect(remove).toBeDisabled();
  await expect(remove).toHaveAttribute('title', 'Only owners can change members.');
  await expect(vpage.getByRole('button', { name: 'Add member' })).toHaveCount(0);
  await vctx.close();

  // The last owner cannot leave the tenant ownerless.
  await page.getByLabel(`Role of ${owner.email}`).selectOption('member');
  await expect(page.getByRole('main').getByRole('alert')).toContainText('A tenant needs at least one owner');
  await signOut(page);
  await signIn(page, owner.email, owner.password);
});
