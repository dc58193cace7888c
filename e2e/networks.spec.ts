import crypto from 'node:crypto';
import { expect, test, type Page } from '@playwright/test';
import { newAccount, openLaunchForm, signUp, STATE_CHANGE } from './helpers';

/** The DHCP host name a guest gets: its instance name, lower-cased, anything but [a-z0-9-] turned into '-'. */
const hostNameOf = (name: string) => name.toLowerCase().replace(/[^a-z0-9-]/g, '-');

/** Whether a dotted quad lies inside an IPv4 CIDR. */
function inCidr(address: string, cidr: string): boolean {
  const n = (ip: string) => ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const [base, prefix] = cidr.split('/');
  const size = 2 ** (32 - Number(prefix));
  return n(address) >= n(base!) && n(address) < n(base!) + size;
}

/** Create a network from the Networks page with the proposed range (or `cidr`); returns its range. */
async function createNetwork(page: Page, slug: string, name: string, cidr?: string): Promise<string> {
  await page.goto(`/t/${slug}/networks`);
  const form = page.getByRole('form', { name: 'Create network' });
  const range = form.getByRole('textbox', { name: 'CIDR' });
  // The proposal arrives from the API, so once it shows the form is live.
  await expect(range).toHaveValue(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
  await form.getByRole('textbox', { name: 'Network name' }).fill(name);
  if (cidr) await range.fill(cidr);
  const chosen = await range.inputValue();
  await form.getByRole('button', { name: 'Create network' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Network ${name} (${chosen}) created.` })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Networks' }).getByRole('link', { name, exact: true })).toBeVisible();
  return chosen;
}

/** Launch a Cirrus Tiny Linux guest with its NIC on `network`; returns its page's path without waiting for it to run. */
async function launchOn(page: Page, slug: string, name: string, network: string) {
  await openLaunchForm(page, slug);
  await page.getByRole('textbox', { name: 'Name' }).fill(name);
  await page.getByRole('combobox', { name: 'Image' }).selectOption({ label: 'Cirrus Tiny Linux' });
  await page.getByRole('radio', { name: /^tiny/ }).check();
  await page.getByRole('combobox', { name: 'eth0 network' }).selectOption({ label: network });
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await page.waitForURL(new RegExp(`/t/${slug}/instances/i-[0-9a-f]{17}$`));
  return new URL(page.url()).pathname;
}

const nicTable = (page: Page, name: string) => page.getByRole('table', { name: `Network interfaces of ${name}` });

async function terminate(page: Page, url: string) {
  await page.goto(url);
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText(/terminating|terminated/, STATE_CHANGE);
}

test('a tenant network: two guests on it get addresses of its own, a port forward reaches one, a NIC rate changes, and the network goes once they are terminated', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    // The refused delete is a 4xx response the browser reports; that one is expected.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && !/status of 4\d\d/.test(m.text())) errors.push(`${m.text()} (${m.location().url})`);
  });
  const slug = await signUp(page, newAccount('net'));
  const id = crypto.randomBytes(3).toString('hex');

  // ── A network "lab" from the Networks page ────────────────────────────────
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Networks' }).click();
  await expect(page.getByRole('heading', { name: 'Networks', level: 1 })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Networks' }).getByRole('row', { name: /default/ })).toContainText('10.0.0.0/24');
  const cidr = await createNetwork(page, slug, 'lab');
  const labLabel = `lab (${cidr})`;

  // ── Two guests on lab ────────────────────────────────────────────────────
  const names = [`Lab A ${id}`, `lab_b.${id}`];
  const urls: string[] = [];
  for (const name of names) urls.push(await launchOn(page, slug, name, labLabel));

  // Each page shows an address inside lab's range; the two differ.
  const addresses: string[] = [];
  for (const [i, name] of names.entries()) {
    await page.goto(urls[i]!);
    await expect(page.getByRole('status', { name: 'State' })).toHaveText('running', STATE_CHANGE);
    const eth0 = nicTable(page, name).getByRole('row', { name: /eth0/ });
    await expect(eth0.getByRole('link', { name: 'lab' })).toHaveAttribute('href', new RegExp(`/t/${slug}/networks/[0-9a-f-]{36}$`));
    const address = (await eth0.getByRole('cell').nth(2).innerText()).trim();
    expect(inCidr(address, cidr), `${address} in ${cidr}`).toBe(true);
    addresses.push(address);
  }
  expect(addresses[0]).not.toBe(addresses[1]);

  // ── A port forward to guest port 8080 of the first, served by busybox httpd ──
  await page.goto(urls[0]!);
  const forwards = page.getByRole('region', { name: 'Port forwards' });
  await forwards.getByRole('spinbutton', { name: 'Guest port' }).fill('8080');
  await forwards.getByRole('button', { name: 'Add port forward' }).click();
  await expect(forwards.getByRole('status').filter({ hasText: `reaches port 8080 of ${names[0]} (${addresses[0]})` })).toBeVisible();
  const forwardRow = forwards.getByRole('table', { name: `Port forwards of ${names[0]}` }).getByRole('row').nth(1);
  await expect(forwardRow).toContainText(`${addresses[0]}:8080`);
  const hostPort = Number(/:(\d+)\s*→/.exec(await forwardRow.innerText())?.[1]);
  expect(hostPort).toBeGreaterThan(0);

  // The guest has its DHCP answer (host name included) once its report lists the address.
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText(`ips=${addresses[0]}`, STATE_CHANGE);
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);
  await page.goto(`${urls[0]}/serial`);
  await expect(page.getByRole('status', { name: 'Connection' })).toHaveText('Connected', STATE_CHANGE);
  await page.getByRole('group', { name: `Serial terminal of ${names[0]}` }).click();
  await page.keyboard.type('mkdir -p /www; hostname > /www/index.html; httpd -p 8080 -h /www');
  await page.keyboard.press('Enter');
  await expect
    .poll(
      async () => {
        try {
          const res = await page.request.get(`http://127.0.0.1:${hostPort}/`, { timeout: 3_000 });
          return res.ok() ? (await res.text()).trim() : `HTTP ${res.status()}`;
        } catch (e) {
          return (e as Error).message.split('\n')[0];
        }
      },
      { timeout: 30_000 },
    )
    .toBe(hostNameOf(names[0]!));
  // That traffic shows in the NIC's counters (polled while it runs).
  await page.goto(urls[0]!);
  const counted = nicTable(page, names[0]!).getByRole('row', { name: /eth0/ });
  await expect(counted.getByRole('cell').nth(5)).toHaveText(/^\d+(\.\d)? (bytes|KiB|MiB|GiB)$/);
  await expect(counted.getByRole('cell').nth(6)).toHaveText(/^\d+(\.\d)? (bytes|KiB|MiB|GiB)$/);

  // ── The second guest's NIC runs at a new rate ─────────────────────────────
  await page.goto(urls[1]!);
  const eth0 = nicTable(page, names[1]!).getByRole('row', { name: /eth0/ });
  await expect(eth0).toContainText('Mbit/s');
  await eth0.getByRole('button', { name: 'Change rate of eth0' }).click();
  await eth0.getByRole('spinbutton', { name: 'New rate of eth0 (Mbit/s)' }).fill('250');
  await eth0.getByRole('button', { name: 'Save rate' }).click();
  await expect(page.getByRole('status').filter({ hasText: `eth0 of ${names[1]} now runs at 250 Mbit/s.` })).toBeVisible();
  await expect(eth0).toContainText('250 Mbit/s');
  await expect(page.getByRole('button', { name: 'Change rate of eth0' })).toBeFocused();

  // ── lab cannot go while the two are on it ─────────────────────────────────
  await page.getByRole('link', { name: 'lab', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'lab', level: 1 })).toBeVisible();
  const attached = page.getByRole('table', { name: 'Instances on lab' });
  for (const [i, name] of names.entries()) await expect(attached.getByRole('row', { name: new RegExp(name.replace(/\./g, '\\.')) })).toContainText(addresses[i]!);
  const labUrl = page.url();
  await page.getByRole('button', { name: 'Delete network' }).click();
  await page.getByRole('group', { name: 'Delete network lab?' }).getByRole('button', { name: 'Delete network' }).click();
  const refusal = page.getByRole('alert').filter({ hasText: '“lab” still has 2 network interfaces attached' });
  await expect(refusal).toBeVisible();
  for (const name of names) await expect(refusal).toContainText(name);

  // ── Terminated, they let it go ───────────────────────────────────────────
  for (const url of urls) await terminate(page, url);
  await page.goto(labUrl);
  await expect(page.getByText('No instance is attached to this network.')).toBeVisible();
  await page.getByRole('button', { name: 'Delete network' }).click();
  await page.getByRole('group', { name: 'Delete network lab?' }).getByRole('button', { name: 'Delete network' }).click();
  await page.waitForURL(new RegExp(`/t/${slug}/networks$`));
  await expect(page.getByRole('table', { name: 'Networks' }).getByRole('link', { name: 'default' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Networks' }).getByRole('link', { name: 'lab', exact: true })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('bad network input is refused beside its field: an overlapping range, a /8, a zero rate, a host port outside the range', async ({ page }) => {
  const slug = await signUp(page, newAccount('netbad'));

  // ── The create form ──────────────────────────────────────────────────────
  await page.goto(`/t/${slug}/networks`);
  const form = page.getByRole('form', { name: 'Create network' });
  const range = form.getByRole('textbox', { name: 'CIDR' });
  await expect(range).toHaveValue('10.0.1.0/24');
  await form.getByRole('textbox', { name: 'Network name' }).fill('overlap');
  await range.fill('10.0.0.128/25');
  await form.getByRole('button', { name: 'Create network' }).click();
  await expect(range).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByText('10.0.0.128/25 overlaps “default” (10.0.0.0/24)')).toBeVisible();
  await range.fill('10.0.0.0/8');
  await expect(range).not.toHaveAttribute('aria-invalid');
  await form.getByRole('button', { name: 'Create network' }).click();
  await expect(form.getByText('A network is between /16 (65,533 addresses for instances) and /28 (13); 10.0.0.0/8 is a /8.')).toBeVisible();
  await expect(range).toHaveAttribute('aria-invalid', 'true');

  // The default network stays, and says why.
  await page.getByRole('table', { name: 'Networks' }).getByRole('link', { name: 'default' }).click();
  await expect(page.getByRole('button', { name: 'Delete network' })).toHaveAttribute('title', '“default” is the tenant’s default network; it cannot be deleted.');

  // ── The launch form: a rate of 0 ─────────────────────────────────────────
  await openLaunchForm(page, slug);
  await page.getByRole('textbox', { name: 'Name' }).fill('bad-port');
  await page.getByRole('radio', { name: /^tiny/ }).check();
  await expect(page.getByRole('combobox', { name: 'eth0 network' })).toHaveValue(/[0-9a-f-]{36}/);
  const rate = page.getByRole('spinbutton', { name: 'eth0 rate (Mbit/s)' });
  await rate.fill('0');
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await expect(rate).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByText('A rate is at least 1 Mbit/s.')).toBeVisible();
  await rate.fill('100');

  // ── A port forward outside the administrators' range ─────────────────────
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await page.waitForURL(new RegExp(`/t/${slug}/instances/i-[0-9a-f]{17}$`));
  const url = new URL(page.url()).pathname;
  const forwards = page.getByRole('region', { name: 'Port forwards' });
  const guest = forwards.getByRole('spinbutton', { name: 'Guest port' });
  const host = forwards.getByRole('spinbutton', { name: 'Host port' });
  await guest.fill('70000');
  await forwards.getByRole('button', { name: 'Add port forward' }).click();
  await expect(forwards.getByText('A guest port is between 1 and 65535.')).toBeVisible();
  await guest.fill('22');
  await host.fill('80');
  await forwards.getByRole('button', { name: 'Add port forward' }).click();
  await expect(host).toHaveAttribute('aria-invalid', 'true');
  await expect(forwards.getByText(/^Host port 80 is outside the range for port forwards, \d+–\d+\.$/)).toBeVisible();
  await expect(guest).not.toHaveAttribute('aria-invalid');
  await terminate(page, url);
});
