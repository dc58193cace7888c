import { expect, test } from '@playwright/test';
import { newAccount, signOut, signUp } from './helpers';

test('sign up → empty Instances page of the new tenant → sign out → sign in again', async ({ page }) => {
  const account = newAccount('ada');
  const slug = await signUp(page, account);
  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible();
  // The tenant switcher shows the new tenant, with the user as its owner.
  await expect(page.getByLabel('Tenant')).toHaveValue(slug);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Instances' })).toHaveAttribute('aria-current', 'page');

  await signOut(page);
  // Signed out: the console sends us back to sign-in.
  await page.goto(`/t/${slug}/instances`);
  await expect(page).toHaveURL(/\/signin\?callbackUrl=/);

  await page.getByLabel('E-mail').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/t/${slug}/instances$`));
  await expect(page.getByRole('heading', { name: 'No instances yet' })).toBeVisible();
});

test('a wrong password is refused with a message, not a page error', async ({ page }) => {
  const account = newAccount('bob');
  await signUp(page, account);
  await signOut(page);
  await page.getByLabel('E-mail').fill(account.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toHaveText('The e-mail or password is not right.');
  await expect(page).toHaveURL(/\/signin/);
});

test('bad sign-up input shows field errors: malformed e-mail, short password, taken e-mail', async ({ page }) => {
  const taken = newAccount('taken');
  await signUp(page, taken);
  await signOut(page);

  await page.goto('/signup');
  await page.getByLabel('Name').fill('Someone');
  await page.getByLabel('E-mail').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByLabel('E-mail')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByText('Enter a valid e-mail address, like name@example.com.')).toBeVisible();
  await expect(page.getByText('Password must be at least 10 characters.')).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');

  // The taken e-mail is only known to the server: its refusal comes back as a field error too.
  await page.getByLabel('E-mail').fill(taken.email.toUpperCase());
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('An account with this e-mail already exists. Sign in instead.')).toBeVisible();
  await expect(page.getByLabel('E-mail')).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/\/signup$/);
});

test('another tenant’s pages are not found, and the shell works on a phone', async ({ page, browser }) => {
  const owner = newAccount('owner');
  const slug = await signUp(page, owner);

  const otherContext = await browser.newContext();
  const other = await otherContext.newPage();
  await signUp(other, newAccount('other'));
  const res = await other.goto(`/t/${slug}/settings`);
  expect(res?.status()).toBe(404);
  await expect(other.getByRole('heading', { name: 'Not found' })).toBeVisible();
  await otherContext.close();

  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(`/t/${slug}/billing`);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Instances', 'Billing', 'Quotas', 'Settings']) await expect(nav.getByRole('link', { name })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
