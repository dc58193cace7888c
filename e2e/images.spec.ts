import { expect, test } from '@playwright/test';
import { launchTiny, newAccount, openLaunchForm, signUp, STATE_CHANGE } from './helpers';

test('make an image of an instance, launch from it, see it private to the tenant, and delete it once nothing runs on it', async ({ page, browser }) => {
  test.setTimeout(360_000);
  const slug = await signUp(page, newAccount('image'));
  const name = `e2e-img-${Date.now().toString(36)}`;
  const sourceUrl = await launchTiny(page, slug, name);
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);

  // ── Bad input is refused beside its field ─────────────────────────────────
  const form = page.getByRole('form', { name: 'Make image' });
  await form.getByRole('button', { name: 'Make image' }).click();
  await expect(form.getByText('Give the image a name.')).toBeVisible();

  // ── Make it; follow it on the Images page until it is available ───────────
  const imageName = `golden ${Date.now().toString(36)}`;
  await form.getByRole('textbox', { name: 'Image name' }).fill(imageName);
  await form.getByRole('button', { name: 'Make image' }).click();
  await expect(form.getByRole('status')).toContainText(`Making image “${imageName}”`);
  await form.getByRole('link', { name: 'Images' }).click();
  await expect(page.getByRole('heading', { name: 'Images', level: 1 })).toBeVisible();
  const row = page.getByRole('table', { name: 'Your images' }).getByRole('row', { name: new RegExp(imageName) });
  await expect(row).toContainText('available', STATE_CHANGE);
  await expect(row.getByRole('link', { name: /^i-[0-9a-f]{17}$/ })).toHaveAttribute('href', sourceUrl);
  await expect(page.getByRole('table', { name: 'Images you can launch' }).getByRole('row', { name: new RegExp(imageName) })).toContainText('yours');

  // ── Launch from it ─────────────────────────────────────────────────────────
  await openLaunchForm(page, slug);
  const child = `${name}-child`;
  await page.getByRole('textbox', { name: 'Name' }).fill(child);
  await page.getByRole('combobox', { name: 'Image' }).selectOption({ label: `${imageName} (your image)` });
  await page.getByRole('radio', { name: /^tiny/ }).check();
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await page.waitForURL((u) => /\/instances\/i-[0-9a-f]{17}$/.test(u.pathname) && u.pathname !== sourceUrl);
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('running', STATE_CHANGE);
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);
  const childUrl = new URL(page.url()).pathname;

  // ── Another tenant does not see it ────────────────────────────────────────
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  const otherSlug = await signUp(otherPage, newAccount('image-other'));
  await openLaunchForm(otherPage, otherSlug);
  await expect(otherPage.getByRole('combobox', { name: 'Image' }).locator('option', { hasText: imageName })).toHaveCount(0);
  await other.close();

  // ── Not deleted while an instance runs on it; deleted after ───────────────
  await page.goto(`/t/${slug}/images`);
  await row.getByRole('button', { name: `Delete image ${imageName}` }).click();
  await page.getByRole('group', { name: new RegExp(`Delete image “${imageName}”\\?`) }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText(new RegExp(`Image “${imageName}” is the disk of instances that are not terminated: ${child} \\(i-[0-9a-f]{17}\\)\\. Terminate them first\\.`))).toBeVisible();
  await page.goto(childUrl);
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await page.getByRole('group', { name: /^Terminate / }).getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('terminated', STATE_CHANGE);
  await page.goto(`/t/${slug}/images`);
  await row.getByRole('button', { name: `Delete image ${imageName}` }).click();
  await page.getByRole('group', { name: new RegExp(`Delete image “${imageName}”\\?`) }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('Image deleted: it is no longer billed.')).toBeVisible();
  await expect(row).toHaveCount(0, STATE_CHANGE);
});
