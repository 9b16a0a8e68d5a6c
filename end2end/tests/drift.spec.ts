import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { ada, expectNoSeriousA11yViolations, newSession } from './support';

const python = process.env.EBP_PYTHON ?? path.join(os.homedir(), '.cache/event-bus-portal/python/bin/python');

function sandboxTopics(): string[] {
  const run = spawnSync(python, [path.resolve('tests/list_topics.py')], { encoding: 'utf8', timeout: 25_000 });
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { sandbox: string[] }).sandbox;
}

test('removing a topic the portal did not create asks first, on a page of its own, without JavaScript', async ({ browser }) => {
  test.setTimeout(120_000);
  // Someone made a topic on the sandbox behind the portal's back.
  const stray = `stray_${Date.now()}`;
  const made = spawnSync(python, [path.resolve('tests/produce.py'), stray, '1', '1'], { encoding: 'utf8', timeout: 60_000 });
  expect(made.status, made.stderr).toBe(0);

  const page = await newSession(browser, ada, false);
  const row = page.getByTestId('drift-findings').getByRole('row').filter({ hasText: stray });
  await expect(async () => {
    await page.goto('/admin/drift');
    await page.getByRole('button', { name: 'Check the clusters now' }).click();
    await expect(row).toHaveCount(1, { timeout: 3_000 });
  }).toPass({ timeout: 45_000 });

  await row.getByRole('link', { name: 'Remove…' }).click();
  await expect(page).toHaveURL(/\/admin\/drift\?confirm=remove-[0-9a-f-]{36}$/);
  const confirm = page.getByTestId('confirm-remove');
  await expect(confirm).toContainText('Remove it from the cluster?');
  await expect(confirm).toContainText(stray);
  // axe needs JavaScript: the same confirmation page, in a hydrated session.
  const checker = await newSession(browser, ada, true);
  await checker.goto(page.url());
  await expect(checker.getByTestId('confirm-remove')).toBeVisible();
  await expectNoSeriousA11yViolations(checker);
  await checker.context().close();
  // Cancelling changes nothing.
  await confirm.getByRole('link', { name: 'Cancel' }).click();
  await expect(page.getByTestId('confirm-remove')).toHaveCount(0);
  await expect(row.getByRole('link', { name: 'Remove…' })).toBeVisible();
  expect(sandboxTopics()).toContain(stray);

  await row.getByRole('link', { name: 'Remove…' }).click();
  await page.getByRole('button', { name: 'Yes, remove it' }).click();
  await expect.poll(() => sandboxTopics(), { timeout: 45_000 }).not.toContain(stray);
  await page.context().close();
});
