import { expect, test } from '@playwright/test';
import { readEc2, signedEc2Request } from '../server/test/ec2';
import { newAccount, signUp } from './helpers';

test('an access key shows its secret once, is listed without it, and can be revoked', async ({ page, baseURL }) => {
  const slug = await signUp(page, newAccount('akey'));
  await page.goto(`/t/${slug}/settings`);
  await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Access keys' }).click();
  await page.waitForURL(`**/t/${slug}/settings/access-keys`);
  await expect(page.getByText('You have no access keys in this tenant yet.')).toBeVisible();

  // A name is needed: the server says so beside the field.
  const name = page.getByRole('textbox', { name: 'Key name' });
  await page.getByRole('button', { name: 'Create access key' }).click();
  await expect(name).toHaveAttribute('aria-invalid', 'true');
  await expect(name).toHaveAccessibleDescription('Give the key a name, like "terraform on ci".');

  await name.fill('e2e key');
  await page.getByRole('button', { name: 'Create access key' }).click();
  const panel = page.getByRole('region', { name: /Access key “e2e key” created/ });
  await expect(panel.getByRole('heading')).toBeFocused();
  await expect(panel).toContainText('shown this once');
  const accessKeyId = await panel.getByRole('textbox', { name: 'Access key ID' }).inputValue();
  const secret = await panel.getByRole('textbox', { name: 'Secret access key' }).inputValue();
  expect(accessKeyId).toMatch(/^AKCR[A-Z2-7]{16}$/);
  expect(secret).toHaveLength(40);
  await expect(panel.getByRole('button', { name: 'Copy secret access key' })).toBeVisible();
  const snippet = panel.getByRole('figure', { name: 'Try it with the AWS CLI' });
  await expect(snippet).toContainText(`AWS_ACCESS_KEY_ID=${accessKeyId}`);
  await expect(snippet).toContainText(secret);
  await expect(snippet).toContainText(`--endpoint-url ${baseURL}/api/ec2 --region cirrus-1`);

  await panel.getByRole('button', { name: 'Done' }).click();
  await expect(panel).toHaveCount(0);
  await expect(name).toBeFocused();
  expect(await page.content()).not.toContain(secret);

  // After a reload the key is listed, active, and its secret is nowhere.
  await page.reload();
  const row = page.getByRole('table', { name: 'Access keys' }).getByRole('row', { name: /e2e key/ });
  await expect(row).toContainText(accessKeyId);
  await expect(row).toContainText('Active');
  await expect(row).toContainText('Never');
  expect(await page.content()).not.toContain(secret);

  // The key signs EC2 API calls, as an SDK signs them; the list then says it was used.
  const key = { accessKeyId, secret };
  const regions = await readEc2(await fetch(await signedEc2Request(baseURL!, key, { Action: 'DescribeRegions' })));
  expect(regions.status).toBe(200);
  expect(regions.body.DescribeRegionsResponse.regionInfo.item[0].regionName).toBe('cirrus-1');
  await page.reload();
  await expect(row).not.toContainText('Never');

  await row.getByRole('button', { name: 'Revoke e2e key' }).click();
  await row.getByRole('button', { name: 'Revoke', exact: true }).click();
  await expect(row).toContainText('Revoked');
  await expect(row.getByRole('button', { name: /Revoke/ })).toHaveCount(0);
  await expect(page.getByRole('main').getByRole('status').filter({ hasText: 'revoked' })).toContainText(`Access key e2e key (${accessKeyId}) revoked`);

  const refused = await readEc2(await fetch(await signedEc2Request(baseURL!, key, { Action: 'DescribeRegions' })));
  expect(refused.status).toBe(401);
  expect(refused.body.Response.Errors.Error.Code).toBe('AuthFailure');

  // Still revoked, for the record, after a reload.
  await page.reload();
  await expect(row).toContainText('Revoked');
  await expect(row.getByRole('button', { name: /Revoke/ })).toHaveCount(0);
});

test('an eleventh active key is refused with the reason until one is revoked', async ({ page }) => {
  const slug = await signUp(page, newAccount('akeys'));
  await page.goto(`/t/${slug}/settings/access-keys`);
  await expect(page.getByText('You have no access keys in this tenant yet.')).toBeVisible();
  const name = page.getByRole('textbox', { name: 'Key name' });
  // From the keyboard: type, Enter, and Done brings focus back to the name field.
  for (let i = 1; i <= 10; i++) {
    await name.fill(`key ${i}`);
    await name.press('Enter');
    await page.getByRole('region', { name: new RegExp(`Access key “key ${i}” created`) }).getByRole('button', { name: 'Done' }).click();
    await expect(name).toBeFocused();
  }
  await expect(page.getByRole('table', { name: 'Access keys' }).getByRole('row')).toHaveCount(11); // header + 10

  await name.fill('key 11');
  await name.press('Enter');
  await expect(page.getByRole('form', { name: 'Create access key' }).getByRole('alert')).toHaveText(
    'You already have 10 active access keys in this tenant: revoke one first.',
  );
  await expect(page.getByRole('row', { name: /key 11/ })).toHaveCount(0);

  const first = page.getByRole('row', { name: /key 1\b/ }).filter({ hasText: 'Active' });
  await first.getByRole('button', { name: 'Revoke key 1' }).click();
  await first.getByRole('button', { name: 'Revoke', exact: true }).click();
  await expect(page.getByRole('row', { name: /key 1\b/ })).toContainText('Revoked');

  await name.fill('key 11');
  await name.press('Enter');
  await expect(page.getByRole('region', { name: /Access key “key 11” created/ })).toBeVisible();
});
