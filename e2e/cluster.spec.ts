// Many hosts, in Chromium: a cluster of its own on this machine (a control
// plane and two compute nodes in network namespaces, npm run cluster's), not
// the e2e server. A tenant watches its guest's console while an admin moves
// the guest live to the other node and then evacuates that node: the console
// reconnects to wherever the guest runs, and the guest never reboots.
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Locator } from '@playwright/test';
import { startLocalCluster, type LocalCluster } from '../server/cluster/local-cluster';
import { launchTiny, newAccount, signIn, signUp, STATE_CHANGE } from './helpers';

const PORT = Number(process.env.E2E_CLUSTER_PORT ?? 3150);
const baseURL = `http://localhost:${PORT}`;
test.use({ baseURL });
test.describe.configure({ mode: 'serial' });

const admin = { email: 'admin@cluster.e2e.test', password: crypto.randomBytes(12).toString('base64url') };
let cluster: LocalCluster;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  cluster = await startLocalCluster({
    dir: path.join(os.tmpdir(), 'cirrus-e2e-cluster'),
    nodes: 2,
    port: PORT,
    imagesDir: path.resolve(process.env.CIRRUS_IMAGES_DIR ?? '.data/images'),
    admin,
    log: () => undefined,
  });
});

test.afterAll(async () => {
  await cluster?.stop();
});

/** What the console's connection status says while `during` runs, sampled every 100 ms. */
async function statusesDuring(connection: Locator, during: () => Promise<void>): Promise<string[]> {
  const seen = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      seen.add((await connection.innerText().catch(() => '')).trim());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await during();
  } finally {
    sampling = false;
    await sampler;
  }
  return [...seen];
}

/** Pixels of the noVNC canvas that are not (nearly) black. */
function litPixels(screen: Locator): Promise<number> {
  return screen.evaluate((el) => {
    const canvas = el.querySelector('canvas');
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx || !canvas.width || !canvas.height) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i]! + data[i + 1]! + data[i + 2]! > 60) lit++;
    return lit;
  });
}

test('an admin moves a running instance live and evacuates its host; the tenant’s console follows it each time', async ({ page, browser }) => {
  test.setTimeout(420_000);
  // ── The tenant launches a guest and opens its console ──────────────────────
  const slug = await signUp(page, newAccount('cluster'));
  const name = `e2e-move-${Date.now().toString(36)}`;
  const instanceUrl = await launchTiny(page, slug, name);
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);
  await page.goto(`${instanceUrl}/console`);
  const connection = page.getByRole('status', { name: 'Connection' });
  await expect(connection).toHaveText('Connected', STATE_CHANGE);
  const screen = page.getByRole('application', { name: `Screen of ${name}` });
  await expect.poll(() => litPixels(screen), { timeout: 30_000 }).toBeGreaterThan(200);

  // ── An admin moves it to the other node ────────────────────────────────────
  const adminContext = await browser.newContext({ baseURL });
  const adminPage = await adminContext.newPage();
  await signIn(adminPage, admin.email, admin.password);
  await adminPage.goto('/admin/instances');
  await adminPage.getByLabel('Name contains').fill(name);
  const row = adminPage.getByRole('row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  const from = (await row.getByRole('cell').nth(4).innerText()).trim();
  expect(['node-1', 'node-2']).toContain(from);
  const to = from === 'node-1' ? 'node-2' : 'node-1';
  await row.getByLabel(`Move ${name} to`).selectOption({ label: to });
  // The tenant's console loses its guest's old QEMU, says why, and reconnects to the node it runs on now.
  const duringMove = await statusesDuring(connection, async () => {
    await row.getByRole('button', { name: `Move ${name}` }).click();
    await expect(adminPage.getByRole('status').filter({ hasText: `${name} is moving live to another host.` })).toBeVisible();
    await expect(row.getByRole('cell').nth(4)).toHaveText(to, { timeout: 120_000 });
    await expect(connection).toHaveText('Connected', STATE_CHANGE);
  });
  expect(duringMove.some((t) => /moved to another host/.test(t)), duringMove.join(' | ')).toBe(true);
  await expect.poll(() => litPixels(screen), { timeout: 30_000 }).toBeGreaterThan(200);
  const tenantPage = await page.context().newPage();
  await tenantPage.goto(instanceUrl);
  await expect(tenantPage.getByRole('table', { name: `Events of ${name}` })).toContainText(new RegExp(`Moved live from host ${from} to ${to}; the guest was paused for \\d+ ms`), STATE_CHANGE);
  await expect(tenantPage.getByRole('status', { name: 'State' })).toHaveText('running');

  // ── The admin evacuates that node: it goes into maintenance and the guest moves back ──
  await adminPage.goto('/admin/hosts');
  await adminPage.getByRole('button', { name: `Evacuate ${to}` }).click();
  const duringEvacuation = await statusesDuring(connection, async () => {
    await adminPage.getByRole('group', { name: new RegExp(`^Put ${to} in maintenance`) }).getByRole('button', { name: 'Evacuate' }).click();
    await expect(adminPage.getByRole('status').filter({ hasText: `${to} is in maintenance; 1 instance is moving away.` })).toBeVisible();
    const moves = adminPage.getByRole('table', { name: 'Moves between hosts' });
    await expect(moves.getByRole('row').filter({ hasText: 'evacuation' })).toContainText(/done, paused \d+ ms/, { timeout: 120_000 });
    const hostRow = adminPage.getByRole('table', { name: 'Hosts' }).getByRole('row').filter({ hasText: to });
    await expect(hostRow.getByText('maintenance', { exact: true })).toBeVisible();
    await expect(hostRow.getByRole('cell').nth(5)).toHaveText('0', { timeout: 30_000 });
    await expect(connection).toHaveText('Connected', STATE_CHANGE);
  });
  expect(duringEvacuation.some((t) => /moved to another host/.test(t)), duringEvacuation.join(' | ')).toBe(true);
  await expect.poll(() => litPixels(screen), { timeout: 30_000 }).toBeGreaterThan(200);
  await tenantPage.reload();
  await expect(tenantPage.getByRole('table', { name: `Events of ${name}` })).toContainText(new RegExp(`Moved live from host ${to} to ${from}`), STATE_CHANGE);
  await adminContext.close();
});
