import crypto from 'node:crypto';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { admin, newAccount, openLaunchForm, signIn, signUp } from './helpers';

// The spec shares its server with the others: whatever it creates it deletes,
// whatever it disables it enables again (afterAll does it if a test stopped halfway).
const FLAVOR_PREFIX = 'e2e-cat-';
const IMAGE = { id: 'cirrus-tiny-linux', name: 'Cirrus Tiny Linux' };

async function adminPage(browser: Browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, admin.email, admin.password);
  return { context, page };
}

/** The launch form's size preset for a flavor, e.g. "e2e-cat-1a2b 1 vCPU · 384 MiB · 1 GiB · 1 NIC". */
const preset = (page: Page, name: string) => page.getByRole('radio', { name: new RegExp(`^${name} `) });

test('an admin creates, edits, disables and deletes a flavor; the tenant launch form follows', async ({ page, browser }) => {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} (${m.location().url})`);
  });
  const slug = await signUp(page, newAccount('catalog'));
  const flavor = `${FLAVOR_PREFIX}${crypto.randomBytes(3).toString('hex')}`;
  const { context, page: adm } = await adminPage(browser);

  // ── Create, from the admin home's navigation ─────────────────────────────
  await adm.goto('/admin');
  await adm.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Flavors' }).click();
  await expect(adm.getByRole('heading', { name: 'Flavors', level: 1 })).toBeVisible();
  const table = adm.getByRole('table', { name: 'Flavors' });
  await expect(table.getByRole('row', { name: /^tiny / })).toBeVisible();
  const create = adm.getByRole('form', { name: 'New flavor' });
  await create.getByRole('textbox', { name: 'Name' }).fill(flavor);
  // Between tiny and small, so it never becomes the launch form's default size.
  await create.getByRole('spinbutton', { name: 'Memory (MiB)' }).fill('384');
  await create.getByRole('button', { name: 'Create flavor' }).click();
  await expect(adm.getByRole('status').filter({ hasText: `Flavor ${flavor} was created` })).toBeVisible();
  const row = table.getByRole('row', { name: new RegExp(`^${flavor} `) });
  await expect(row).toContainText('384 MiB');
  await expect(row.getByText('enabled', { exact: true })).toBeVisible();
  // The form is ready for the next one.
  await expect(create.getByRole('textbox', { name: 'Name' })).toHaveValue('');

  await openLaunchForm(page, slug);
  await expect(preset(page, flavor)).toHaveAccessibleName(`${flavor} 1 vCPU · 384 MiB · 1 GiB · 1 NIC`);
  await preset(page, flavor).check();
  await expect(page.getByRole('spinbutton', { name: 'Memory (MiB)' })).toHaveValue('384');

  // ── A taken name (whatever its case) is refused beside the Name field ────
  const nameField = create.getByRole('textbox', { name: 'Name' });
  await nameField.fill(flavor.toUpperCase());
  await create.getByRole('button', { name: 'Create flavor' }).click();
  await expect(nameField).toHaveAttribute('aria-invalid', 'true');
  await expect(nameField).toHaveAccessibleDescription(new RegExp(`A flavor named “${flavor.toUpperCase()}” already exists\\.`));
  // A bad number is refused beside its own field, before asking the server.
  await nameField.fill(`${flavor}-2`);
  const vcpus = create.getByRole('spinbutton', { name: 'vCPUs' });
  await vcpus.fill('64');
  await create.getByRole('button', { name: 'Create flavor' }).click();
  await expect(vcpus).toHaveAccessibleDescription(/vCPUs must be at most 32\./);
  await expect(table.getByRole('row', { name: new RegExp(`^${flavor}-2 `) })).toHaveCount(0);

  // ── Edit ─────────────────────────────────────────────────────────────────
  await row.getByRole('button', { name: `Edit ${flavor}` }).click();
  const editForm = adm.getByRole('form', { name: `Edit flavor ${flavor}` });
  await expect(editForm.getByRole('textbox', { name: 'Name' })).toBeFocused();
  await editForm.getByRole('spinbutton', { name: 'Disk (GiB)' }).fill('3');
  await editForm.getByRole('button', { name: 'Save flavor' }).click();
  await expect(adm.getByRole('status').filter({ hasText: `Flavor ${flavor} was saved.` })).toBeVisible();
  await expect(editForm).toHaveCount(0);
  await expect(row.getByRole('button', { name: `Edit ${flavor}` })).toBeFocused();
  await expect(row).toContainText('3 GiB');
  await openLaunchForm(page, slug);
  await expect(preset(page, flavor)).toHaveAccessibleName(`${flavor} 1 vCPU · 384 MiB · 3 GiB · 1 NIC`);

  // ── Disable: gone from the launch form; enable: back ─────────────────────
  await row.getByRole('button', { name: `Disable ${flavor}` }).click();
  await expect(adm.getByRole('status').filter({ hasText: `Flavor ${flavor} is disabled` })).toBeVisible();
  await expect(row.getByText('disabled', { exact: true })).toBeVisible();
  await openLaunchForm(page, slug);
  await expect(preset(page, 'tiny')).toBeVisible();
  await expect(preset(page, flavor)).toHaveCount(0);

  await row.getByRole('button', { name: `Enable ${flavor}` }).click();
  await expect(adm.getByRole('status').filter({ hasText: `Flavor ${flavor} is enabled` })).toBeVisible();
  await openLaunchForm(page, slug);
  await expect(preset(page, flavor)).toBeVisible();

  // ── Delete, after a confirmation ─────────────────────────────────────────
  await row.getByRole('button', { name: `Delete ${flavor}` }).click();
  const confirm = row.getByRole('group', { name: `Delete flavor ${flavor}? Instances launched with it keep their size.` });
  await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(adm.getByRole('status').filter({ hasText: `Flavor ${flavor} was deleted.` })).toBeVisible();
  await expect(row).toHaveCount(0);
  await openLaunchForm(page, slug);
  await expect(preset(page, 'tiny')).toBeVisible();
  await expect(preset(page, flavor)).toHaveCount(0);

  await context.close();
  expect(errors).toEqual([]);
});

test('an admin disables the tiny image: tenants can no longer pick it (only Debian is offered) until it is enabled again', async ({ page, browser }) => {
  const slug = await signUp(page, newAccount('catalog-img'));
  const { context, page: adm } = await adminPage(browser);
  await adm.goto('/admin/images');
  await expect(adm.getByRole('heading', { name: 'Images', level: 1 })).toBeVisible();
  const row = adm.getByRole('table', { name: 'Images' }).getByRole('row', { name: new RegExp(IMAGE.name) });
  await expect(row).toContainText(IMAGE.id);
  await expect(row).toContainText(/\d+(\.\d)? MiB/);
  await expect(row).toContainText(/\d+(\.\d)? GiB/);
  await expect(row.getByText('enabled', { exact: true })).toBeVisible();

  // ── Disable, after being told what it does and does not do ───────────────
  await row.getByRole('button', { name: `Disable ${IMAGE.name}` }).click();
  const confirm = row.getByRole('group', { name: new RegExp(`^Disable ${IMAGE.name}\\? Instances made from it keep running`) });
  await expect(confirm).toContainText('only new launches are refused');
  await confirm.getByRole('button', { name: 'Disable', exact: true }).click();
  await expect(adm.getByRole('status').filter({ hasText: `${IMAGE.name} is disabled: new launches of it are refused` })).toBeVisible();
  await expect(row.getByText('disabled', { exact: true })).toBeVisible();

  // The tenant cannot pick it any more; the catalog's other image (Debian) is what the form offers.
  await openLaunchForm(page, slug);
  const imageField = page.getByRole('combobox', { name: 'Image' });
  await expect(imageField.getByRole('option', { name: IMAGE.name })).toHaveCount(0);
  await expect(imageField.getByRole('option')).toHaveText(['Debian 12 (bookworm)']);
  await expect(imageField).toHaveValue('debian-12');

  // ── Enabled again, it is offered (and chosen by default) again ───────────
  await row.getByRole('button', { name: `Enable ${IMAGE.name}` }).click();
  await expect(adm.getByRole('status').filter({ hasText: `${IMAGE.name} is enabled` })).toBeVisible();
  await expect(row.getByText('enabled', { exact: true })).toBeVisible();
  await openLaunchForm(page, slug);
  await expect(imageField).toHaveValue(IMAGE.id);
  await context.close();
});

test.afterAll(async ({ browser }) => {
  const { context, page } = await adminPage(browser);
  await page.goto('/admin/images');
  const image = page.getByRole('table', { name: 'Images' }).getByRole('row', { name: new RegExp(IMAGE.name) });
  const enable = image.getByRole('button', { name: `Enable ${IMAGE.name}` });
  await expect(image).toBeVisible();
  if (await enable.count()) {
    await enable.click();
    await expect(image.getByText('enabled', { exact: true })).toBeVisible();
  }
  await page.goto('/admin/flavors');
  const leftovers = page.getByRole('table', { name: 'Flavors' }).getByRole('row', { name: new RegExp(`^${FLAVOR_PREFIX}`) });
  await expect(page.getByRole('table', { name: 'Flavors' })).toBeVisible();
  while ((await leftovers.count()) > 0) {
    const row = leftovers.first();
    await row.getByRole('button', { name: /^Delete / }).click();
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByRole('status').filter({ hasText: 'was deleted.' })).toBeVisible();
    await page.reload();
    await expect(page.getByRole('table', { name: 'Flavors' })).toBeVisible();
  }
  await context.close();
});
