import path from 'node:path';
import { expect, test } from '@playwright/test';

const adminToken = process.env.MOAT_E2E_ADMIN_TOKEN ?? '';
const apiUrl = process.env.MOAT_E2E_API_URL ?? '';
const screenshotDir = path.resolve(__dirname, '../screenshots');
const BOOT_TIMEOUT_MS = 120_000;

async function rest<T>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${apiUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await res.json()) as T;
}

test('an operator types a command into the web terminal and sees its output', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });

  // The sandbox comes from the API: this test is about the terminal, the dashboard test covers the form.
  const sandbox = await rest<{ id: string }>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 128 });
  try {
    await page.goto('/signin');
    await page.getByLabel('API token', { exact: true }).fill(adminToken);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('heading', { name: 'Overview', level: 1 })).toBeVisible();
    await page.goto(`/sandboxes/${sandbox.id}`);

    const terminal = page.getByRole('region', { name: 'Terminal' });
    const open = terminal.getByRole('button', { name: 'Open terminal' });
    await expect(open).toBeEnabled({ timeout: BOOT_TIMEOUT_MS });
    await open.click();
    await expect(terminal.getByRole('status')).toHaveText(/Connected/);

    const screen = terminal.getByTestId('terminal');
    await screen.click();
    await page.keyboard.type('echo "six times seven is $((6*7))"');
    await page.keyboard.press('Enter');
    // The echo of what was typed holds the expression; only the shell's output holds the result.
    await expect(screen.locator('.xterm-rows')).toContainText('six times seven is 42');
    await page.screenshot({ path: path.join(screenshotDir, 'terminal.png'), fullPage: true });

    await page.keyboard.type('exit 5');
    await page.keyboard.press('Enter');
    await expect(terminal.getByRole('status')).toHaveText('The shell exited with code 5.');
  } finally {
    await rest('DELETE', `/v1/sandboxes/${sandbox.id}`);
  }
  expect(errors, 'browser console errors').toEqual([]);
});
