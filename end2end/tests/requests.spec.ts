import { expect, test, type Browser, type Page } from '@playwright/test';
import { gary, maria, omar, signIn, type DemoUser } from './support';

async function newSession(browser: Browser, user: DemoUser, javaScriptEnabled: boolean): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await signIn(page, user);
  return page;
}

async function approveAs(browser: Browser, user: DemoUser, requestUrl: string, slot: string, js: boolean) {
  const page = await newSession(browser, user, js);
  await page.goto(requestUrl);
  const decision = page.getByRole('region', { name: `Your decision (${slot})` });
  await expect(decision).toBeVisible();
  await decision.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByRole('region', { name: /Your decision/ })).toHaveCount(0);
  await page.context().close();
}

for (const js of [true, false]) {
  test(`a consumer-access request is approved by the owning team and governance (${js ? 'hydrated' : 'without JavaScript'})`, async ({ browser }) => {
    const group = `notify-e2e-${js ? 'js' : 'nojs'}-${Date.now()}`;
    const requester = await newSession(browser, maria, js);

    // Find the event in the catalog and ask for access to it.
    await requester.goto('/catalog');
    await requester.getByLabel('Search', { exact: true }).fill('form submission');
    await requester.getByRole('button', { name: 'Search' }).click();
    await requester.getByRole('link', { name: 'submission_trace_form_status_change' }).click();
    await expect(requester.getByRole('heading', { name: 'submission_trace_form_status_change' })).toBeVisible();
    await requester.getByRole('link', { name: 'Request access' }).click();
    await expect(requester.getByLabel('Topic')).toHaveValue('submission_trace_form_status_change');
    await requester.getByLabel('Application').selectOption({ label: 'Notify Service (benefits-notifications)' });
    await requester.getByLabel(/^Sandbox/).check();
    await requester.getByLabel(/^Consumer group/).fill(group);
    await requester.getByLabel('Purpose').fill('Tell people by email when their submitted form changes status.');
    await requester.getByRole('button', { name: 'Submit for approval' }).click();

    await expect(requester).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
    const requestUrl = requester.url();
    await expect(requester.getByTestId('request-state')).toHaveText('Waiting for approval');
    // Nobody approves their own request: no decision form, and a forced call is refused.
    await expect(requester.getByRole('button', { name: 'Approve' })).toHaveCount(0);
    const id = requestUrl.split('/').pop()!;
    const forced = await requester.request.post('/api/requests/decide', {
      form: { id, version: '1', decision: 'approve', reason: '' },
    });
    expect(forced.status()).toBe(403);

    await approveAs(browser, omar, requestUrl, 'Owning team', js);
    await approveAs(browser, gary, requestUrl, 'Governance', js);

    await requester.reload();
    await expect(requester.getByTestId('request-state')).toHaveText('Approved');
    await expect(requester.getByRole('list').filter({ hasText: 'Owning team' })).toContainText('approved by Omar Haddad');
    await expect(requester.getByRole('list').filter({ hasText: 'Governance' })).toContainText('approved by Gary Chen');
    await requester.context().close();
  });
}

test('a declined request shows its reason to the requester', async ({ page }) => {
  await signIn(page, maria);
  await page.goto('/requests');
  await page.getByRole('row', { name: /contact_information_change/ }).getByRole('link').click();
  await expect(page.getByTestId('request-state')).toHaveText('Declined');
  await expect(page.getByRole('status')).toContainText('Claim Status Tool does not need mailing addresses');
});

test('inline errors name each field the server refused, and nothing is created', async ({ page }) => {
  await signIn(page, maria);
  await page.goto('/requests');
  const before = await page.getByRole('row').count();
  await page.goto('/requests/new?topic=no_such_topic');
  await page.getByLabel('Purpose').fill('short');
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(page.locator('#environments-error')).toHaveText('choose at least one environment');
  await expect(page.locator('#purpose-error')).toContainText('at least 10');
  await page.goto('/requests');
  expect(await page.getByRole('row').count()).toBe(before);
});

test('approvers see how many requests wait for them', async ({ page }) => {
  await signIn(page, gary);
  await expect(page.getByTestId('pending-count')).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Approvals/ }).click();
  await expect(page.getByRole('row', { name: /appointment_cancelled/ })).toBeVisible();
});
