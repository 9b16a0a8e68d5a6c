import { expect, test, type Page } from '@playwright/test';
import { ada, maria, signIn } from './support';

// Phone, tablet, laptop and desktop widths.
const WIDTHS = [360, 768, 1280, 1440];

async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

async function expectNoSidewaysScroll(page: Page, paths: string[]) {
  const scrolling: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const path of paths) {
      await page.goto(path);
      await page.waitForLoadState('networkidle');
      const overflow = await sidewaysOverflow(page);
      if (overflow > 0) scrolling.push(`${path} at ${width} px by ${overflow} px`);
    }
  }
  expect(scrolling, 'pages that scroll sideways').toEqual([]);
}

test('no page scrolls sideways from 360 to 1,440 px wide, even with a 2,000-character word in it', async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, maria);
  // A request whose purpose is one unbroken 2,000-character word.
  await page.goto('/requests/new?topic=submission_trace_form_status_change&kind=consumer_access');
  await page.getByLabel('Application').selectOption({ label: 'Notify Service (benefits-notifications)' });
  await page.getByLabel(/^Sandbox/).check();
  await page.getByLabel(/^Consumer group/).fill(`layout-${Date.now()}`);
  await page.getByLabel('Purpose').fill('W'.repeat(2000));
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(page).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
  const request = new URL(page.url()).pathname;

  await expectNoSidewaysScroll(page, [
    '/',
    '/catalog',
    '/catalog/submission_trace_form_status_change',
    '/requests',
    request,
    '/requests/new',
    '/requests/new-topic',
    '/requests/new-application',
    '/requests/applications/a0000000-0000-4000-8000-000000000001',
    '/requests/teams',
    '/requests/topic-change?topic=decision_letter_availability',
    '/requests/schema-change?topic=decision_letter_availability',
    '/notifications',
    '/health',
    '/health/mine',
    '/health/sandbox/topics/submission_trace_form_status_change',
  ]);

  await page.context().clearCookies();
  await signIn(page, ada);
  await expectNoSidewaysScroll(page, [request, '/approvals', '/admin', '/admin/drift']);
});

test('the header keeps to one line at 1,280 px', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signIn(page, ada);
  await page.goto('/catalog');
  // One row: every part of the header, and every link of the navigation, shares a horizontal band.
  for (const items of [page.locator('.site-header > *:visible'), page.locator('.site-header a:visible, .site-header button:visible')]) {
    const boxes = await items.evaluateAll((all) => all.map((item) => {
      const box = item.getBoundingClientRect();
      return { top: box.top, bottom: box.bottom };
    }));
    const lowestTop = Math.max(...boxes.map((b) => b.top));
    const highestBottom = Math.min(...boxes.map((b) => b.bottom));
    expect(lowestTop, `header rows: ${JSON.stringify(boxes)}`).toBeLessThan(highestBottom);
  }
});
