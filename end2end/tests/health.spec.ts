import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ada, expectHydrated, expectNoSeriousA11yViolations, signIn, watchForPanics } from './support';

const python = process.env.EBP_PYTHON ?? path.join(os.homedir(), '.cache/event-bus-portal/python/bin/python');
// A seeded catalog topic in the sandbox (without PII, as the sandbox allows none); the producer
// creates it on the cluster if needed.
const TOPIC = 'claim_status_change';

test('the topic health chart is live: its value changes without a reload', async ({ page }) => {
  test.setTimeout(150_000);
  const panics = watchForPanics(page);
  // A real producer writing 20 messages a second for the length of the test.
  const producer = spawn(python, [path.resolve('tests/produce.py'), TOPIC, '120', '20'], { stdio: 'inherit' });
  try {
    await signIn(page, ada);
    // The collector sees the topic within a cycle or two of its creation.
    await expect(async () => {
      await page.goto(`/health/sandbox/topics/${TOPIC}`);
      await expect(page.getByTestId('throughput-chart')).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 60_000 });
    await expectHydrated(page);
    const chart = page.getByTestId('throughput-chart');
    // Hydrating kept the chart the server drew (checked at once, before any later data arrives).
    expect(await chart.locator('.chart-svg svg').count()).toBe(1);
    await expect(chart.locator('svg')).toBeVisible();
    // Each point tells its time and value under the pointer, with the unit.
    await expect(chart.locator('.chart-points title').first()).toHaveText(/^\d\d:\d\d [\d.]+ messages per second$/);
    await expect(page.getByTestId('topic-status')).toBeVisible();
    // Each chart is in the page once, as markup: the hydration data leaves the SVG out.
    const html = await (await page.request.get(`/health/sandbox/topics/${TOPIC}`)).text();
    expect(html.split('chart-points').length - 1).toBe(2);
    await expect(page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Latest offset' }) })).toBeVisible();

    // Mark this document: a reload would replace it and lose the mark.
    await page.evaluate(() => {
      (window as unknown as { healthMark: string }).healthMark = 'still the same document';
    });
    const total = page.getByTestId('topic-total');
    const before = (await total.textContent()) ?? '';
    const drawn = await chart.locator('.chart-svg').innerHTML();
    await expect(total).not.toHaveText(before, { timeout: 20_000 });
    await expect.poll(() => chart.locator('.chart-svg').innerHTML(), { timeout: 20_000 }).not.toBe(drawn);
    await expect(page.getByTestId('topic-rate')).not.toHaveText('0.0', { timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { healthMark?: string }).healthMark)).toBe('still the same document');
    await expectNoSeriousA11yViolations(page);

    // Other ranges come from the rollups and render as well.
    await page.getByRole('navigation', { name: 'Chart range' }).getByRole('link', { name: '24 hours' }).click();
    await expect(page.getByTestId('throughput-chart')).toContainText('last 24 hours');

    // The overview lists the cluster; the group and "my topics" pages render accessibly.
    await page.goto('/health');
    await expect(page.getByTestId('cluster-sandbox')).toBeVisible();
    await expect(page.getByTestId('cluster-sandbox')).toContainText('Messages per second');
    await expectNoSeriousA11yViolations(page);
    await page.goto('/health/mine');
    await expect(page.getByRole('heading', { level: 1, name: 'Health' })).toBeVisible();
    await expectNoSeriousA11yViolations(page);
  } finally {
    producer.kill();
  }
  expect(panics).toEqual([]);
});
