import crypto from 'node:crypto';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { launchTiny, newAccount, ownerWithTeammate, signUp, STATE_CHANGE } from './helpers';


/**
 * Type as on a US keyboard, holding Shift for the characters that need it:
 * noVNC sends scancodes, so the guest sees keys, not characters (Playwright's
 * type('S') presses KeyS without Shift). A short delay per key, as a person
 * types, keeps the guest's PS/2 queue from overflowing.
 */
async function typeKeys(page: Page, text: string) {
  const shifted: Record<string, string> = { '>': 'Period', '|': 'Backslash', '_': 'Minus' };
  for (const ch of text) {
    const key = shifted[ch] ?? (/[A-Z]/.test(ch) ? `Key${ch}` : null);
    if (key) await page.keyboard.press(`Shift+${key}`, { delay: 20 });
    else await page.keyboard.press(ch === ' ' ? 'Space' : ch, { delay: 20 });
  }
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

test('the VNC and serial consoles of a running guest: type into both, see it in the serial log, and a clear message once it stops', async ({ page, context }) => {
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} (${m.location().url})`);
  });
  const slug = await signUp(page, newAccount('con'));
  const name = `e2e-con-${Date.now().toString(36)}`;
  const mark = crypto.randomBytes(4).toString('hex');

  // ── Launch a tiny guest and wait for it to run ─────────────────────────────
  const instanceUrl = await launchTiny(page, slug, name);
  await expect(page.getByRole('log', { name: 'Serial log' })).toContainText('CIRRUS-READY', STATE_CHANGE);

  // ── VNC console: connected, a screen that shows something, keys reach the guest ──
  await page.goto(`${instanceUrl}/console`);
  await expect(page.getByRole('heading', { level: 1, name: `Console · ${name}` })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Console', exact: true })).toHaveAttribute('aria-current', 'page');
  const connection = page.getByRole('status', { name: 'Connection' });
  await expect(connection).toHaveText('Connected', STATE_CHANGE);
  const screen = page.getByRole('application', { name: `Screen of ${name}` });
  // Keys go to the guest at once; the hint says how to get them there again.
  await expect(screen.locator('canvas')).toBeFocused();
  await expect(page.getByText('Click the screen to type.')).toBeVisible();
  await expect.poll(() => litPixels(screen), { timeout: 30_000 }).toBeGreaterThan(200);
  const scale = page.getByRole('button', { name: 'Scale to fit' });
  await expect(scale).toHaveAttribute('aria-pressed', 'true');
  await scale.click();
  await expect(scale).toHaveAttribute('aria-pressed', 'false');
  await scale.click();
  await expect(page.getByRole('button', { name: 'Send Ctrl-Alt-Del' })).toBeEnabled();
  await expect(page.getByRole('button', { name: 'Fullscreen' })).toBeEnabled();

  await screen.locator('canvas').click();
  await typeKeys(page, `echo cirrus-${mark} > /dev/ttyS0`);
  await page.keyboard.press('Enter');

  // Paste types the text key by key, Shift and Enter included.
  await page.getByRole('textbox', { name: 'Text to paste' }).fill(`echo PASTED_${mark} > /dev/ttyS0\n`);
  await page.getByRole('button', { name: 'Paste text' }).click();
  await expect(page.getByText(/^Typed \d+ characters into the console\.$/)).toBeVisible();

  // ── Serial console: the log has what was typed on the screen; the terminal goes both ways ──
  await page.getByRole('link', { name: 'Serial console' }).click();
  await expect(page.getByRole('heading', { level: 1, name: `Serial console · ${name}` })).toBeVisible();
  const log = page.getByRole('log', { name: 'Serial log' });
  await expect(log).toContainText(`cirrus-${mark}`, { timeout: 20_000 });
  await expect(log).toContainText(`PASTED_${mark}`, { timeout: 20_000 });
  await expect(connection).toHaveText('Connected', STATE_CHANGE);
  const terminal = page.getByRole('group', { name: `Serial terminal of ${name}` });
  await terminal.click();
  await page.keyboard.type(`echo serial-${mark}`);
  await page.keyboard.press('Enter');
  // Once echoed as typed, once as the command's output.
  await expect(terminal.locator('.xterm-rows')).toHaveText(new RegExp(`serial-${mark}[\\s\\S]*serial-${mark}`), { timeout: 20_000 });
  await expect(log).toContainText(`serial-${mark}`, { timeout: 20_000 });

  // ── A phone-sized window: the page does not scroll sideways ───────────────
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(`${instanceUrl}/console`);
  await expect(connection).toHaveText('Connected', STATE_CHANGE);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await page.goto(`${instanceUrl}/serial`);
  await expect(connection).toHaveText('Connected', STATE_CHANGE);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  await page.goto(`${instanceUrl}/console`);
  await page.setViewportSize({ width: 1280, height: 800 });

  // ── Stop the instance from its page; the console says it is not running ───
  const detail = await context.newPage();
  await detail.goto(instanceUrl);
  await detail.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(detail.getByRole('status', { name: 'State' })).toHaveText('stopped', STATE_CHANGE);
  await expect(connection).toHaveText('Not running', { timeout: 15_000 });
  await expect(page.getByText(`The console opens only while the instance runs; ${name} is stopped.`)).toBeVisible();
  await expect(page.locator('canvas')).toHaveCount(0);

  // Started again, the console connects by itself (a new ticket, no reload).
  await detail.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(detail.getByRole('status', { name: 'State' })).toHaveText('running', STATE_CHANGE);
  await expect(connection).toHaveText('Connected', STATE_CHANGE);
  await expect(page.locator('canvas')).toHaveCount(1);
  await page.getByRole('link', { name: 'Back to instance' }).click();
  await expect(page).toHaveURL(new RegExp(`${instanceUrl}$`));

  // ── Clean up ─────────────────────────────────────────────────────────────
  await detail.getByRole('button', { name: 'Terminate', exact: true }).click();
  await detail.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(detail.getByRole('status', { name: 'State' })).toHaveText('terminated', STATE_CHANGE);
  await detail.close();
  expect(errors).toEqual([]);
});

test('a viewer is told why the console does not open', async ({ page, browser }) => {
  const { slug, teammatePage: vpage, teammateContext: vctx } = await ownerWithTeammate(page, browser, 'viewer', 'cons');
  const instanceUrl = await launchTiny(page, slug, 'viewed', { waitUntilRunning: false });

  for (const view of ['console', 'serial']) {
    await vpage.goto(`${instanceUrl}/${view}`);
    await expect(vpage.getByRole('status', { name: 'Connection' })).toHaveText('You cannot open this console');
    await expect(vpage.getByText(/Consoles need the member role in .*; you are a viewer\./)).toBeVisible();
  }
  await vctx.close();

  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await page.getByRole('button', { name: 'Terminate', exact: true }).click();
  await expect(page.getByRole('status', { name: 'State' })).toHaveText('terminated', { timeout: 60_000 });
});
