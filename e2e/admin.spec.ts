import { expect, test } from '@playwright/test';
import { admin, newAccount, signIn, signOut, signUp } from './helpers';

test('an admin turns self sign-up off and on again', async ({ page, browser }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin');
  const toggle = page.getByRole('switch', { name: /self sign-up/ });
  await expect(toggle).toBeChecked();
  await toggle.uncheck();
  // Whatever happens below, leave sign-up open for the other tests.
  test.info().annotations.push({ type: 'cleanup', description: 'sign-up re-enabled in afterEach' });
  await expect(page.getByText('The sign-up page is closed')).toBeVisible();

  const visitor = await browser.newPage();
  await visitor.goto('/signup');
  await expect(visitor.getByRole('main').getByRole('alert')).toContainText('Sign-up is turned off');
  await expect(visitor.getByRole('button', { name: 'Create account' })).toHaveCount(0);
  // The API refuses too, not just the page.
  const res = await visitor.request.post('/api/trpc/auth.signUp', {
    data: { json: { ...newAccount('late') } },
  });
  expect(res.status()).toBe(403);

  await toggle.check();
  await expect(page.getByText('The sign-up page is open.')).toBeVisible();
  await visitor.reload();
  await expect(visitor.getByRole('button', { name: 'Create account' })).toBeVisible();
  await visitor.close();
  await signOut(page);
});

test.afterEach(async ({ browser }) => {
  const page = await browser.newPage();
  const status = await page.request.get('/api/trpc/auth.signUpStatus');
  if ((await status.json()).result?.data?.json?.enabled === false) {
    await signIn(page, admin.email, admin.password);
    await page.goto('/admin');
    await page.getByRole('switch', { name: /self sign-up/ }).check();
    await expect(page.getByText('The sign-up page is open.')).toBeVisible();
  }
  await page.close();
});

test('non-admins get no admin page and no admin link', async ({ page }) => {
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fadmin/);
  await signUp(page, newAccount('plain'));
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' })).toHaveCount(0);
  const res = await page.goto('/admin');
  expect(res?.status()).toBe(404);
});

test('health reports the database', async ({ request }) => {
  const res = await request.get('/api/health');
  expect(res.status()).toBe(200);
  expect(await res.json()).toMatchObject({ ok: true, database: { ok: true } });
});
