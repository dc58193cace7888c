import { expect, test } from '@playwright/test';
import { adminSetsQuotas, launchTiny, newAccount, signUp, STATE_CHANGE } from './helpers';

test('clone an instance from its disk now (linked) and from a snapshot (full), and be told why a clone over quota is refused', async ({ page, browser }) => {
  test.setTimeout(360_000);
  const user = newAccount('clone');
  const tenantName = `${user.name}'s tenant`;
  const slug = await signUp(page, user);
  const name = `e2e-src-${Date.now().toString(36)}`;
  const sourceUrl = await launchTiny(page, slug, name);
  const toAnotherInstance = (u: URL) => /\/instances\/i-[0-9a-f]{17}$/.test(u.pathname) && u.pathname !== sourceUrl;
  const state = page.getByRole('status', { name: 'State' });
  const serial = page.getByRole('log', { name: 'Serial log' });
  await expect(serial).toContainText('CIRRUS-READY', STATE_CHANGE);

  // A snapshot to clone from later.
  const snapForm = page.getByRole('form', { name: 'Take snapshot' });
  await snapForm.getByRole('textbox', { name: 'Snapshot name' }).fill('golden');
  await snapForm.getByRole('button', { name: 'Take snapshot' }).click();
  await expect(page.getByRole('table', { name: `Snapshots of ${name}` }).getByRole('row', { name: /^golden / })).toContainText('available', STATE_CHANGE);

  // ── Bad input is refused beside its field ─────────────────────────────────
  const form = page.getByRole('form', { name: 'Clone instance' });
  const cloneName = form.getByRole('textbox', { name: 'Name of the clone' });
  await expect(cloneName).toHaveValue(`${name}-clone`);
  await cloneName.fill('');
  await form.getByRole('button', { name: 'Clone' }).click();
  await expect(form.getByText('Give the instance a name.')).toBeVisible();

  // ── Linked, from its disk now: the clone's page, running, saying where it came from ──
  await cloneName.fill(`${name}-linked`);
  await form.getByRole('button', { name: 'Clone' }).click();
  await page.waitForURL(toAnotherInstance);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${name}-linked`);
  await expect(state).toHaveText('running', STATE_CHANGE);
  await expect(page.getByText('(linked)')).toBeVisible();
  await expect(serial).toContainText('CIRRUS-READY', STATE_CHANGE);
  await expect(page.getByRole('table', { name: `Events of ${name}-linked` })).toContainText(`A linked clone of ${name} as it is now.`);

  // ── Full, from the snapshot ───────────────────────────────────────────────
  await page.goto(sourceUrl);
  await form.getByRole('combobox', { name: 'Clone from' }).selectOption({ label: 'Snapshot “golden”' });
  await form.getByRole('radio', { name: /^Full copy/ }).check();
  await cloneName.fill(`${name}-full`);
  await form.getByRole('button', { name: 'Clone' }).click();
  await page.waitForURL(toAnotherInstance);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${name}-full`);
  await expect(state).toHaveText('running', STATE_CHANGE);
  await expect(page.getByText('(full copy)')).toBeVisible();
  await expect(page.getByRole('link', { name: /^i-[0-9a-f]{17}$/ })).toHaveAttribute('href', sourceUrl);

  // ── Over quota: the admin caps instances at the three it has; the refusal says so ──
  const { adminContext } = await adminSetsQuotas(browser, tenantName, { Instances: '3' });
  await adminContext.close();

  await page.goto(sourceUrl);
  await cloneName.fill(`${name}-fourth`);
  await form.getByRole('button', { name: 'Clone' }).click();
  await expect(form.getByText('Instances quota exceeded: this clone needs 1, the tenant uses 3 of its 3 limit, so 0 are left.')).toBeVisible();
  expect(new URL(page.url()).pathname).toBe(sourceUrl);
});
