import { api } from '../support/api';
import { BOOT_TIMEOUT_MS, expect, signInAsAdmin, test } from './fixtures';

test('an operator types a command into the web terminal and sees its output', async ({ page, snap }) => {
  // The sandbox comes from the API: this test is about the terminal, the sandbox flow covers the form.
  const created = await api<{ id: string }>('POST', '/v1/sandboxes', { body: { vcpus: 1, memoryMiB: 128 } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const sandbox = created.body;
  try {
    await signInAsAdmin(page);
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
    await snap('terminal');

    await page.keyboard.type('exit 5');
    await page.keyboard.press('Enter');
    await expect(terminal.getByRole('status')).toHaveText('The shell exited with code 5.');
  } finally {
    await api('DELETE', `/v1/sandboxes/${sandbox.id}`);
  }
});
