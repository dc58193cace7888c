import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { newAccount, openLaunchForm, signUp, STATE_CHANGE } from './helpers';

const DEBIAN = 'Debian 12 (bookworm)';

/** An ed25519 key pair made by the real ssh-keygen in a temp dir: the private key's path, the .pub line and its SHA256 fingerprint as `ssh-keygen -lf` prints it. */
function sshKeygen(dir: string, file: string) {
  const key = path.join(dir, file);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${file}@e2e`, '-f', key]);
  const listed = execFileSync('ssh-keygen', ['-lf', `${key}.pub`], { encoding: 'utf8' });
  const fingerprint = /\bSHA256:[A-Za-z0-9+/]+/.exec(listed)?.[0];
  if (!fingerprint) throw new Error(`no fingerprint in ${listed}`);
  return { privateKeyPath: key, privateKey: fs.readFileSync(key, 'utf8'), publicKey: fs.readFileSync(`${key}.pub`, 'utf8').trim(), fingerprint };
}

/** Run `command` on the guest with the real ssh client through host port `port`: its stdout, or the first line of why it failed. */
function sshRun(privateKeyPath: string, port: number, user: string, command: string): Promise<string> {
  const argv = [
    '-i', privateKeyPath, '-p', String(port),
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
    `${user}@127.0.0.1`, command,
  ];
  return new Promise((resolve) => {
    execFile('ssh', argv, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve(err ? `ssh failed: ${(stderr.trim() || err.message).split('\n')[0]}` : stdout.trim());
    });
  });
}

/** Console errors, except the 4xx responses of refused tRPC calls, which these tests provoke on purpose. */
function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    const url = m.location().url;
    if (m.type() !== 'error' || url.endsWith('/favicon.ico')) return;
    if (/status of 4\d\d/.test(m.text()) && url.includes('/api/trpc/')) return;
    errors.push(`${m.text()} (${url})`);
  });
  return errors;
}

/** The Key pairs page through the main navigation, once its (empty) list has come from the API: the forms are live then. */
async function openKeyPairs(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Key pairs' }).click();
  await expect(page.getByRole('heading', { name: 'Key pairs', level: 1 })).toBeVisible();
  await expect(page.getByRole('region', { name: 'No key pairs yet' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Import key pair' });
  return { form, name: form.getByRole('textbox', { name: 'Key pair name' }), key: form.getByRole('textbox', { name: 'Public key' }), submit: form.getByRole('button', { name: 'Import key pair' }) };
}

let keyDir: string;
test.beforeAll(() => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cirrus-e2e-keys-'));
});
test.afterAll(() => {
  fs.rmSync(keyDir, { recursive: true, force: true });
});

test('bad key pair input is refused beside its field: a malformed key, a private key (never sent), a name already taken', async ({ page }) => {
  const errors = collectConsoleErrors(page);
  await signUp(page, newAccount('keybad'));
  const { form, name, key, submit } = await openKeyPairs(page);
  const id = crypto.randomBytes(3).toString('hex');
  const imports: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/trpc/keyPairs.import')) imports.push(r.url());
  });

  // ── Key data that is not base64: the server reads it and says so ──────────
  await name.fill(`bad-${id}`);
  await key.fill('ssh-ed25519 notbase64!!');
  await submit.click();
  await expect(key).toHaveAttribute('aria-invalid', 'true');
  await expect(key).toHaveAccessibleDescription(/The key data is not valid base64; it was probably changed or cut when copied\./);
  await expect(key).toBeFocused();
  await expect(name).not.toHaveAttribute('aria-invalid');
  expect(imports).toHaveLength(1);

  // ── A private key pasted as the public one: refused before it leaves the page ──
  const mine = sshKeygen(keyDir, `private-${id}`);
  await key.fill(mine.privateKey);
  await expect(key).not.toHaveAttribute('aria-invalid');
  await submit.click();
  await expect(key).toHaveAttribute('aria-invalid', 'true');
  await expect(key).toHaveAccessibleDescription(/That is a private key\. Paste the public key \(the \.pub file\); never share the private one\./);
  expect(imports, 'the private key is never sent').toHaveLength(1);

  // ── A name taken, whatever its case ───────────────────────────────────────
  const taken = `laptop-${id}`;
  await name.fill(taken);
  await key.fill(mine.publicKey);
  await submit.click();
  await expect(form.getByRole('status')).toHaveText(`Key pair ${taken} imported (${mine.fingerprint}).`);
  await expect(page.getByRole('table', { name: 'Key pairs' }).getByRole('row', { name: new RegExp(taken) })).toBeVisible();
  await name.fill(taken.toUpperCase());
  await key.fill(mine.publicKey);
  await submit.click();
  await expect(name).toHaveAttribute('aria-invalid', 'true');
  await expect(name).toHaveAccessibleDescription(`A key pair named “${taken.toUpperCase()}” already exists.`);
  await expect(name).toBeFocused();
  await expect(key).not.toHaveAttribute('aria-invalid');
  await expect(page.getByRole('table', { name: 'Key pairs' }).getByRole('row')).toHaveCount(2); // the header and the one key
  expect(errors).toEqual([]);
});

test('a Debian 12 guest: an imported key and user data at launch, the ssh command logs in for real, the serial console shows the login prompt', async ({ page }) => {
  test.setTimeout(420_000);
  const errors = collectConsoleErrors(page);
  const slug = await signUp(page, newAccount('deb'));
  const id = crypto.randomBytes(3).toString('hex');
  const keyName = `laptop-${id}`;
  const name = `deb-${id}`; // already a DNS label: the guest's host name
  const mine = sshKeygen(keyDir, keyName);

  // ── Import the public key; the table shows ssh-keygen's fingerprint ──────────
  const { form, name: keyNameField, key, submit } = await openKeyPairs(page);
  await keyNameField.fill(keyName);
  await key.fill(mine.publicKey);
  await submit.click();
  await expect(form.getByRole('status')).toHaveText(`Key pair ${keyName} imported (${mine.fingerprint}).`);
  const keyRow = page.getByRole('table', { name: 'Key pairs' }).getByRole('row', { name: new RegExp(keyName) });
  await expect(keyRow.getByRole('cell').nth(1)).toHaveText('ED25519 · 256 bits');
  await expect(keyRow.getByRole('cell').nth(2)).toHaveText(mine.fingerprint);
  await expect(keyRow.getByRole('cell').nth(4)).toHaveText('imported');

  // ── The launch form: Debian's facts, the key pair, user data ─────────────────
  await openLaunchForm(page, slug);
  await page.getByRole('textbox', { name: 'Name' }).fill(name);
  await page.getByRole('combobox', { name: 'Image' }).selectOption({ label: DEBIAN });
  const facts = page.getByLabel(`About ${DEBIAN}`);
  await expect(facts).toContainText('Debian 12 · x86_64');
  await expect(facts).toContainText(/Login user\s*debian/);
  await expect(facts).toContainText('1 vCPU, 512 MiB of memory, 2 GiB of disk');
  await expect(facts).toContainText('cloud-init (key pairs, user data), guest agent');
  const access = page.getByRole('region', { name: 'Access' });
  const keyPair = access.getByRole('combobox', { name: 'Key pair' });
  await expect(keyPair).toHaveAccessibleDescription(/Its public key is installed for the user debian\./);
  await keyPair.selectOption({ label: `${keyName} · ED25519 · 256 bits · ${mine.fingerprint.slice(0, 20)}…` });
  // Too small for Debian on purpose (the server says so), and user data over 16 KiB (the form says so first).
  await page.getByRole('radio', { name: /^tiny/ }).check();
  const userData = access.getByRole('textbox', { name: 'User data (optional)' });
  await userData.fill(`#!/bin/sh\n${'#'.repeat(16 * 1024)}\n`);
  const launch = page.getByRole('button', { name: 'Launch instance' });
  await launch.click();
  await expect(userData).toHaveAttribute('aria-invalid', 'true');
  await expect(userData).toHaveAccessibleDescription(/User data must be at most 16 KiB\./);
  await expect(userData).toBeFocused();
  await userData.fill('#!/bin/sh\necho hello-from-user-data > /marker\n');
  await expect(userData).not.toHaveAttribute('aria-invalid');
  await launch.click();
  const memory = page.getByRole('spinbutton', { name: 'Memory (MiB)' });
  await expect(memory).toHaveAttribute('aria-invalid', 'true');
  await expect(memory).toHaveAccessibleDescription(new RegExp(`${DEBIAN.replace(/[()]/g, '\\$&')} needs at least 512 MiB of memory\\.`));
  await expect(userData).not.toHaveAttribute('aria-invalid');
  await page.getByRole('radio', { name: /^small/ }).check();
  await expect(memory).toHaveValue('512');
  await expect(memory).not.toHaveAttribute('aria-invalid');
  await launch.click();
  await page.waitForURL(new RegExp(`/t/${slug}/instances/i-[0-9a-f]{17}$`));
  const instanceUrl = new URL(page.url()).pathname;
  await expect(page.getByRole('heading', { name, level: 1 })).toBeVisible();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('running', STATE_CHANGE);
  await expect(page.getByRole('region', { name: 'Details' }).getByText(keyName, { exact: true })).toBeVisible();

  // ── Log in: forward a host port to 22, and the exact ssh command ─────────────
  const login = page.getByRole('region', { name: 'Log in' });
  await expect(login.getByText('No host port reaches this guest’s SSH port (22) yet.')).toBeVisible();
  await login.getByRole('button', { name: 'Forward a host port to SSH' }).click();
  const command = login.getByLabel('SSH command', { exact: true });
  await expect(command).toHaveText(new RegExp(`^ssh -i ${keyName}\\.pem -p \\d+ debian@\\S+$`));
  const port = Number(/-p (\d+)/.exec((await command.textContent()) ?? '')?.[1]);
  expect(port).toBeGreaterThan(0);
  await expect(login).toContainText(`Logs in as debian with the key pair ${keyName}`);
  // The same forward is listed among the port forwards.
  await expect(page.getByRole('table', { name: `Port forwards of ${name}` })).toContainText(`:${port}`);

  // The real ssh client with the private key gets in once Debian has booted and cloud-init has run the script.
  await expect
    .poll(() => sshRun(mine.privateKeyPath, port, 'debian', 'cat /marker'), { timeout: 300_000, intervals: [5_000] })
    .toBe('hello-from-user-data');
  expect(await sshRun(mine.privateKeyPath, port, 'debian', 'hostname')).toBe(name);

  // The guest agent reports Debian and the host name (asked every 10 s).
  const reported = login.getByLabel('Reported by the guest agent');
  await expect(reported).toContainText('Debian GNU/Linux 12', { timeout: 60_000 });
  await expect(reported).toContainText(name);

  // ── The serial console: a login prompt with the host name ────────────────────
  await page.getByRole('navigation', { name: 'Consoles' }).getByRole('link', { name: 'Open serial console' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Serial console · ${name}` })).toBeVisible();
  await expect(page.getByRole('status', { name: 'Connection' })).toHaveText('Connected', STATE_CHANGE);
  const terminal = page.getByRole('group', { name: `Serial terminal of ${name}` });
  await terminal.click();
  // The terminal shows what arrives from now on: Enter asks getty for a fresh prompt.
  await expect
    .poll(
      async () => {
        await page.keyboard.press('Enter');
        return (await terminal.locator('.xterm-rows').textContent()) ?? '';
      },
      { timeout: 30_000, intervals: [2_000] },
    )
    .toContain(`${name} login:`);

  // ── Terminate ─────────────────────────────────────────────────────────────
  await page.goto(instanceUrl);
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('terminated', { timeout: 120_000 });
  expect(errors).toEqual([]);
});
