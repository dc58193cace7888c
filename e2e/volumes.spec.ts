import { expect, test } from '@playwright/test';
import { admin, launchTiny, newAccount, signIn, signUp, STATE_CHANGE } from './helpers';

test('volumes: create one (a size of 0 is refused), attach it to a running instance, grow the instance’s disk while it is attached, detach and delete it', async ({ page }) => {
  test.setTimeout(300_000);
  const slug = await signUp(page, newAccount('vol'));
  const name = `e2e-vol-${Date.now().toString(36)}`;
  const vol = `data-${Date.now().toString(36)}`;
  const instancePath = await launchTiny(page, slug, name);
  const state = page.getByRole('status', { name: 'State' });

  // ── The Volumes page, from the tenant's navigation ─────────────────────────
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Volumes' }).click();
  await expect(page.getByRole('heading', { name: 'Volumes', level: 1 })).toBeVisible();
  const form = page.getByRole('form', { name: 'Create volume' });
  // The quota bars come from the API: once they show, the form is live.
  await expect(form.getByRole('list', { name: 'Quota after creating it' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Volumes' }).getByText('No volumes yet')).toBeVisible();

  // ── A size of 0 is refused beside its field ───────────────────────────────
  await form.getByRole('textbox', { name: 'Name' }).fill(vol);
  await form.getByRole('spinbutton', { name: 'Size (GiB)' }).fill('0');
  await form.getByRole('button', { name: 'Create volume' }).click();
  await expect(form.getByText('A volume is at least 1 GiB.')).toBeVisible();
  await expect(form.getByRole('spinbutton', { name: 'Size (GiB)' })).toBeFocused();

  // ── 1 GiB at the baseline I/O: its price and quota show before it is made ──
  await form.getByRole('spinbutton', { name: 'Size (GiB)' }).fill('1');
  await expect(form.getByText('Per hour', { exact: true })).toBeVisible();
  await expect(form.getByRole('list', { name: 'Quota after creating it' })).toContainText('0 GiB used + 1 GiB = 1 GiB of');
  await form.getByRole('button', { name: 'Create volume' }).click();
  const table = page.getByRole('table', { name: 'Volumes' });
  const row = table.getByRole('row', { name: new RegExp(`^${vol} `) });
  await expect(row).toContainText('1 GiB');
  await expect(row).toContainText('3000 IOPS · 125 MB/s');
  await expect(row).toContainText('available', STATE_CHANGE);

  // ── Attach it to the running instance: hot-plugged ─────────────────────────
  await row.getByRole('combobox', { name: `Attach ${vol} to` }).selectOption({ label: `${name} (running)` });
  await row.getByRole('button', { name: `Attach volume ${vol}` }).click();
  await expect(row).toContainText('in-use', STATE_CHANGE);
  await expect(row.getByRole('link', { name })).toBeVisible();
  // In use, it cannot be deleted; the button says why.
  await expect(row.getByRole('button', { name: `Delete volume ${vol}` })).toHaveAttribute('title', 'It is attached: detach it before deleting it.');

  // ── The instance page's Volumes card shows it ─────────────────────────────
  await row.getByRole('link', { name }).click();
  await page.waitForURL(new RegExp(`${instancePath}$`));
  const card = page.getByRole('region', { name: 'Volumes' });
  const attached = card.getByRole('table', { name: `Volumes of ${name}` }).getByRole('row', { name: new RegExp(`^${vol} `) });
  await expect(attached).toContainText('in-use');
  const events = page.getByRole('table', { name: `Events of ${name}` });
  await expect(events).toContainText(`Volume “${vol}”`);
  await expect(state).toHaveText('running');

  // ── Resize the running instance (its disk grows) with the volume attached ──
  const resize = page.getByRole('form', { name: 'Resize instance' });
  await resize.getByRole('spinbutton', { name: 'Disk (GiB)' }).fill('2');
  await resize.getByRole('button', { name: 'Resize' }).click();
  await expect(events).toContainText('It has 1 vCPU, 256 MiB, 2 GiB now, added while it runs.', STATE_CHANGE);
  await expect(state).toHaveText('running');
  await expect(attached).toContainText('in-use');

  // ── Detach it from the instance page ──────────────────────────────────────
  await attached.getByRole('button', { name: `Detach volume ${vol}` }).click();
  await card.getByRole('group', { name: `Detach ${vol} from ${name}? The guest is asked to let go of it first.` }).getByRole('button', { name: 'Detach' }).click();
  await expect(card.getByText('No volume is attached to this instance.')).toBeVisible(STATE_CHANGE);
  await expect(card.getByRole('combobox', { name: 'Available volume' })).toContainText(vol);
  await expect(state).toHaveText('running');

  // ── Back on the Volumes page it is available; delete it ───────────────────
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Volumes' }).click();
  await expect(row).toContainText('available');
  await expect(row.getByRole('link', { name })).toHaveCount(0);
  await row.getByRole('button', { name: `Delete volume ${vol}` }).click();
  await page.getByRole('group', { name: `Delete volume ${vol}? Its data is gone for good.` }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText(`Deleting volume ${vol}. Its billing has ended.`)).toBeVisible();
  await expect(row).toHaveCount(0, STATE_CHANGE);
});

test('admin storage: the pools with capacity and allocation; capacity is checked before it is saved, and a pool is taken out of service and back', async ({ page }) => {
  await signIn(page, admin.email, admin.password);
  await page.goto('/admin');
  await page.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Storage' }).click();
  await expect(page.getByRole('heading', { name: 'Storage', level: 1 })).toBeVisible();
  const table = page.getByRole('table', { name: 'Storage pools' });
  await expect(table.getByRole('row')).not.toHaveCount(1);
  const form = page.getByRole('form', { name: /^Capacity of / }).first();
  const capacity = form.getByRole('spinbutton', { name: 'Capacity (GiB)' });
  const current = await capacity.inputValue();
  await capacity.fill('0');
  await form.getByRole('button', { name: 'Save capacity' }).click();
  await expect(form.getByText('Capacity is a whole number of GiB, at least 1.')).toBeVisible();
  await capacity.fill(current);
  await form.getByRole('button', { name: 'Save capacity' }).click();
  await expect(page.getByText(`now holds up to ${current} GiB of volumes.`)).toBeVisible();

  const inService = page.getByRole('switch', { name: /in service$/ }).first();
  await expect(inService).toHaveAttribute('aria-checked', 'true');
  await inService.click();
  await expect(inService).toHaveAttribute('aria-checked', 'false');
  await expect(table).toContainText('out of service');
  await inService.click();
  await expect(inService).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByText('takes new volumes again.')).toBeVisible();
});
