import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { ada, expectHydrated, expectNoSeriousA11yViolations, gary, maria, newSession, omar, signIn, victor, type DemoUser } from './support';

const python = process.env.EBP_PYTHON ?? path.join(os.homedir(), '.cache/event-bus-portal/python/bin/python');

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
    await expect(requester.getByRole('heading', { level: 1 })).toHaveText(
      'Consumer access to submission_trace_form_status_change for Notify Service');
    // Each waiting approval names the people who can give it, and how long it has waited.
    await expect(requester.getByTestId('slot-owning_team')).toContainText('waiting for');
    await expect(requester.getByTestId('slot-owning_team').getByTestId('can-decide')).toHaveText('Omar Haddad can decide.');
    await expect(requester.getByTestId('slot-governance').getByTestId('can-decide')).toHaveText('Gary Chen and Nina Park can decide.');
    // Nobody approves their own request: no decision form, and a forced call is refused.
    await expect(requester.getByRole('button', { name: 'Approve' })).toHaveCount(0);
    const id = requestUrl.split('/').pop()!;
    const forced = await requester.request.post('/api/requests/decide', {
      form: { id, version: '1', decision: 'approve', reason: '' },
    });
    expect(forced.status()).toBe(403);

    if (js) await expectHydrated(requester);
    await approveAs(browser, omar, requestUrl, 'Owning team', js);
    await approveAs(browser, gary, requestUrl, 'Governance', js);

    // The approval is applied to Kafka by the portal's workers within moments. The requester's
    // open page follows it live, without a reload; without JavaScript a reload shows it.
    if (js) {
      await expect(requester.getByTestId('request-state')).toHaveText('Active', { timeout: 20_000 });
    } else {
      await expect(async () => {
        await requester.reload();
        await expect(requester.getByTestId('request-state')).toHaveText('Active', { timeout: 1_000 });
      }).toPass({ timeout: 20_000 });
    }
    await expect(requester.getByRole('list').filter({ hasText: 'Owning team' })).toContainText('approved by Omar Haddad');
    await expect(requester.getByRole('list').filter({ hasText: 'Governance' })).toContainText('approved by Gary Chen');

    // Approved in the sandbox: promote to production as a new request that needs its own approval.
    await requester.getByRole('link', { name: 'Promote to another environment' }).click();
    await expect(requester.getByLabel('Topic')).toHaveValue('submission_trace_form_status_change');
    await expect(requester.getByLabel(/^Consumer group/)).toHaveValue(group);
    await requester.getByLabel(/^Production/).check();
    await requester.getByRole('button', { name: 'Submit for approval' }).click();
    await expect(requester).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
    expect(requester.url()).not.toBe(requestUrl);
    await expect(requester.getByTestId('request-state')).toHaveText('Waiting for approval');
    await expect(requester.getByText('Repeats the approved request')).toBeVisible();
    await requester.context().close();
  });
}

test('a declined request shows its reason to the requester', async ({ page }) => {
  await signIn(page, maria);
  // The seeded declined request, opened by its id: "My requests" lists the 200 most recently
  // updated, and every run of these tests adds some, so on a database kept between runs the
  // seeded one leaves that list.
  await page.goto('/requests/b0000000-0000-4000-8000-000000000003');
  await expect(page.getByRole('heading', { name: /Consumer access/ })).toBeVisible();
  await expect(page.getByText('contact_information_change').first()).toBeVisible();
  await expect(page.getByTestId('request-state')).toHaveText('Declined');
  await expect(page.getByRole('status')).toContainText('Claim Status Tool does not need mailing addresses');
});

for (const js of [true, false]) {
  test(`inline errors name each field the server refused, and nothing is created (${js ? 'hydrated' : 'without JavaScript'})`, async ({ browser }) => {
    const page = await newSession(browser, maria, js);
    await page.goto('/requests/new?topic=no_such_topic');
    if (js) await expectHydrated(page);
    await page.getByLabel('Purpose').fill('short');
    await page.getByRole('button', { name: 'Submit for approval' }).click();
    // Messages are sentences, in the server's words.
    await expect(page.locator('#environments-error')).toHaveText('Choose at least one environment');
    await expect(page.locator('#purpose-error')).toContainText('at least 10');
    await page.goto('/requests');
    await expect(page.getByRole('row', { name: /no_such_topic/ })).toHaveCount(0);
    await page.context().close();
  });
}

test('the request form counts the purpose as it is typed, cuts nothing off, and offers the group field to consumers only', async ({ browser }) => {
  const page = await newSession(browser, maria, true);
  await page.goto('/requests/new?topic=submission_trace_form_status_change');
  await expectHydrated(page);
  await expect(page.getByTestId('purpose-count')).toHaveText('0 of 2,000 characters');
  await page.getByLabel('Purpose').fill('x'.repeat(2050));
  await expect(page.getByTestId('purpose-count')).toHaveText('2,050 of 2,000 characters');
  await expect(page.getByTestId('purpose-count')).toHaveClass(/over/);
  expect(await page.getByLabel('Purpose').inputValue()).toHaveLength(2050);
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(page.locator('#purpose-error')).toContainText('at most 2000 characters (this is 2050)');

  await expect(page.getByTestId('consumer-group-field')).toBeVisible();
  await page.getByLabel('Produce events (write)').check();
  await expect(page.getByTestId('consumer-group-field')).toBeHidden();
  await page.getByLabel('Consume events (read)').check();
  await expect(page.getByTestId('consumer-group-field')).toBeVisible();
  await page.context().close();
});

test('the topic field offers matching topics as one types, and each field is checked once it is left', async ({ browser }) => {
  const page = await newSession(browser, maria, true);
  await page.goto('/requests/new');
  await expectHydrated(page);
  const topic = page.getByRole('combobox', { name: 'Topic' });
  await topic.pressSequentially('claim sta');
  const offers = page.getByRole('listbox', { name: 'Suggestions' });
  await expect(offers).toBeVisible();
  await expect(offers.getByRole('option').first()).toContainText('claim_status_change');
  await expectNoSeriousA11yViolations(page);
  await topic.press('ArrowDown');
  await expect(offers.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
  await topic.press('Enter');
  await expect(topic).toHaveValue('claim_status_change');
  await expect(offers).toBeHidden();
  // Choosing did not send the form.
  await expect(page).toHaveURL(/\/requests\/new$/);

  // A field shows its message as soon as it is left, before anything is sent, in the words
  // the server would use; fixing it clears the message as one types.
  await page.getByLabel('Purpose').fill('short');
  await expect(page.locator('#purpose-error')).toHaveCount(0);
  await page.getByLabel('Access until').focus();
  await expect(page.locator('#purpose-error')).toHaveText('The purpose needs at least 10 characters');
  await page.getByLabel('Purpose').fill('Tell people when their claim moves on.');
  await expect(page.locator('#purpose-error')).toHaveCount(0);
  await topic.fill('bad topic!');
  await page.getByLabel('Purpose').focus();
  await expect(page.locator('#topic-error')).toHaveText("A topic name may only use letters, digits, '.', '_' and '-' (found ' ')");
  // Nothing was sent: the form is still the new-request form, with no request made.
  await expect(page).toHaveURL(/\/requests\/new$/);
  await page.context().close();
});

test('the new-topic form checks the name by the bus\'s naming rule as it is left, and its hint states that rule', async ({ browser }) => {
  const page = await newSession(browser, maria, true);
  // Reached in the browser, not loaded: the rule comes with the page's own data.
  await page.goto('/requests');
  await expectHydrated(page);
  await page.getByRole('link', { name: 'Propose a new topic' }).click();
  await expect(page).toHaveURL(/\/requests\/new-topic$/);
  // The configured policy, in words (the local stack reserves "_", "connect" and "ksql").
  await expect(page.locator('#name-hint')).toHaveText(
    /^Lowercase snake_case, like decision_letter_availability: 3 to 120 characters, not starting with .*"connect".*\.$/);
  await page.getByLabel('Topic name').fill('connect_offsets');
  await page.getByLabel('Title').focus();
  await expect(page.locator('#name-error')).toHaveText('Topic names cannot start with "connect", which is reserved');
  await page.getByLabel('Topic name').fill('Claims-Moved');
  await expect(page.locator('#name-error')).toHaveText('Topic names are lowercase snake_case, like decision_letter_availability');
  await page.getByLabel('Topic name').fill('claim_moved');
  await expect(page.locator('#name-error')).toHaveCount(0);
  await page.context().close();
});

test('approvers see how many requests wait for them', async ({ page }) => {
  await signIn(page, gary);
  // The browser fetches the count once the page is live: wait for that, then for the count.
  await expectHydrated(page);
  await expect(page.getByTestId('pending-count')).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Approvals/ }).click();
  await expect(page.getByRole('row', { name: /appointment_cancelled/ })).toBeVisible();
});

test('a new topic is proposed with its fit check, approved by governance, and enters the catalog', async ({ browser, page }) => {
  const name = `benefit_payment_issued_${Date.now()}`;
  await signIn(page, maria);
  await page.goto('/requests');
  await page.getByRole('link', { name: 'Propose a new topic' }).click();
  // The fit check answers as you choose: that is the browser's part, so wait for it.
  await expectHydrated(page);

  const fit = page.getByRole('group', { name: /immediate answer/ });
  await fit.getByLabel('Yes').check();
  await expect(fit.getByRole('status')).toContainText('synchronous request and response');
  await fit.getByLabel('No').check();
  await expect(fit.getByRole('status')).toHaveCount(0);
  await page.getByRole('group', { name: /independently/ }).getByLabel('Yes').check();
  await page.getByRole('group', { name: /polling/ }).getByLabel('Yes').check();
  await page.getByRole('group', { name: /prototype/ }).getByLabel('No').check();
  await page.getByRole('group', { name: /High under FISMA/ }).getByLabel('No').check();

  await page.getByLabel('Topic name').fill(name);
  await page.getByLabel('Title').fill('Benefit payment issued');
  await page.getByLabel('Description').fill('Published when a benefit payment is sent to the bank, with its amount and date.');
  await page.getByLabel('Business domain').fill('benefits');
  await page.getByLabel(/^Value schema/).fill(JSON.stringify({
    type: 'record', name: 'BenefitPaymentIssued', namespace: 'bus.benefits',
    fields: [{ name: 'amount_cents', type: 'long', doc: 'What was paid, in cents.' }],
  }, null, 2));
  await expect(page.getByTestId('value_schema-check')).toContainText('a valid schema');
  // The key schema is checked as it is written too, on its own.
  const keySchema = page.getByLabel(/^Key schema/);
  await keySchema.fill('{"type": "strng"}');
  await expect(page.getByTestId('key_schema-check')).toContainText('strng');
  await keySchema.fill('{"type": "string"}');
  await expect(page.getByTestId('key_schema-check')).toContainText('a valid schema');
  await expect(page.getByLabel('Compatibility mode')).toHaveValue('BACKWARD');
  await page.getByLabel('Compatibility mode').selectOption('FULL');
  await page.getByLabel('Producing application').selectOption({ label: 'Notify Service (benefits-notifications)' });
  await page.getByLabel(/^Sandbox/).check();
  await page.getByRole('button', { name: 'Submit for approval' }).click();

  await expect(page).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
  const requestUrl = page.url();
  await expect(page.getByTestId('request-state')).toHaveText('Waiting for approval');
  await expect(page.getByRole('heading', { name: 'Proposed topic' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Fit check' })).toBeVisible();
  await expect(page.getByTestId('proposed-key-schema')).toContainText('"string"');
  await expect(page.getByTestId('proposed-compatibility')).toContainText('FULL');
  // Notify Service handles PII and will write to the sandbox, which allows none: governance is told.
  await expect(page.getByTestId('slot-governance')).toContainText('handles PII and Sandbox allows none');

  const approver = await browser.newContext().then((c) => c.newPage());
  await signIn(approver, gary);
  await approver.goto(requestUrl);
  await approver.getByRole('region', { name: 'Your decision (Governance)' }).getByRole('button', { name: 'Approve' }).click();
  await expect(approver.getByTestId('request-state')).toHaveText(/Applying to Kafka|Active/);
  await approver.context().close();

  await page.goto(`/catalog/${name}`);
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByText('Notify Service (benefits-notifications) in sandbox')).toBeVisible();
  await expect(page.getByTestId('schema-version').first()).toContainText(`${name}-value, version 1`);
  await expect(page.getByRole('cell', { name: 'What was paid, in cents.' })).toBeVisible();
  await expect(page.getByTestId('example-event').first()).toContainText('"amount_cents": 1250');
  await expect(page.getByTestId('schema-version').last()).toContainText(`${name}-key, version 1`);
  await expect(page.getByTestId('schema-version').last()).toContainText('compatibility FULL');
});

test('a member registers an application with its compliance facts and can then request access for it', async ({ page }) => {
  const name = `Claim Letters ${Date.now()}`;
  await signIn(page, maria);
  await page.goto('/requests');
  await page.getByRole('link', { name: 'Register an application' }).click();
  await page.getByLabel('Team').selectOption('claims-status');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('System registration id').fill('SR-20881');
  await page.getByLabel('Security package id').fill('SP-1190');
  await page.getByLabel('FISMA rating').focus();
  await page.getByLabel('FISMA rating').selectOption('high');
  await page.getByLabel('Authority to operate').focus();
  // Checked as it is left, by the server's rule, before anything is sent.
  await expect(page.locator('#fisma_rating-error')).toContainText('not a fit for the event bus');
  await page.getByLabel('Authority to operate').selectOption('granted');
  await page.getByLabel('ATO date').fill('2026-05-01');
  await page.getByLabel('Technical contact (email)').fill('letters-dev');
  await page.getByLabel('Product contact (email)').focus();
  await expect(page.locator('#technical_contact-error')).toHaveText('The technical contact is an email address');
  await page.getByLabel('Technical contact (email)').fill('letters-dev@example.test');
  await expect(page.locator('#technical_contact-error')).toHaveCount(0);
  await page.getByLabel('Product contact (email)').fill('letters-owner@example.test');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page.locator('#fisma_rating-error')).toContainText('not a fit for the event bus');

  await page.getByLabel('FISMA rating').selectOption('moderate');
  await page.getByRole('button', { name: 'Register' }).click();
  // The new application's page: its facts, no access yet, and the way to ask for some.
  await expect(page).toHaveURL(/\/requests\/applications\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('compliance')).toContainText('letters-dev@example.test');
  await expect(page.getByTestId('no-grants')).toBeVisible();
  await expectHydrated(page);
  await expectNoSeriousA11yViolations(page);
  await page.getByRole('link', { name: 'Ask for access for it' }).click();
  await expect(page).toHaveURL(/\/requests\/new\?application=[0-9a-f-]{36}$/);
  await expect(page.getByLabel('Application').locator('option:checked')).toHaveText(new RegExp(name));
});

test('an approved request is applied to Kafka step by step, and its password is shown once', async ({ browser, page }) => {
  const name = `Status Relay ${Date.now()}`;
  await signIn(page, maria);
  await page.goto('/requests/new-application');
  await page.getByLabel('Team').selectOption('claims-status');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('System registration id').fill('SR-20990');
  await page.getByLabel('Security package id').fill('SP-1191');
  await page.getByLabel('FISMA rating').selectOption('moderate');
  await page.getByLabel('Authority to operate').selectOption('granted');
  await page.getByLabel('ATO date').fill('2026-05-01');
  await page.getByLabel('Technical contact (email)').fill('relay-dev@example.test');
  await page.getByLabel('Product contact (email)').fill('relay-owner@example.test');
  await page.getByRole('button', { name: 'Register' }).click();
  await expect(page).toHaveURL(/\/requests\/applications\/[0-9a-f-]{36}$/);
  const applicationUrl = page.url();

  await page.goto('/requests/new?topic=submission_trace_form_status_change&kind=producer_access');
  await page.getByLabel('Application').selectOption({ label: `${name} (claims-status)` });
  await page.getByLabel(/^Sandbox/).check();
  await page.getByLabel('Purpose').fill('Relay status changes to the case-management system as they happen.');
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(page).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
  const requestUrl = page.url();
  await expectHydrated(page);
  await expect(page.getByTestId('request-state')).toHaveText('Waiting for approval');

  await approveAs(browser, omar, requestUrl, 'Owning team', true);
  await approveAs(browser, gary, requestUrl, 'Governance', true);

  // The requester's open page follows the approvals and the steps live, without a reload.
  const steps = page.getByTestId('apply-steps');
  await expect(steps.getByRole('listitem')).toHaveCount(2);
  await expect(steps.locator('li[data-status="done"]')).toHaveCount(2, { timeout: 20_000 });
  await expect(page.getByTestId('request-state')).toHaveText('Active');
  await expect(page.getByText(/may write events to submission_trace_form_status_change/)).toBeVisible();

  await page.getByRole('button', { name: 'Show the password once' }).click();
  const secret = page.getByTestId('revealed-credential');
  await expect(secret).toBeVisible();
  await expect(secret).toContainText('SCRAM-SHA-512');
  const password = await page.locator('#revealed-password').inputValue();
  expect(password).toHaveLength(43);
  // Beside the password just shown, nothing says it was shown already.
  await expect(page.getByTestId('credential-sandbox')).toContainText('shown below, once');
  await expect(page.getByTestId('credential-sandbox')).not.toContainText('shown once already');

  // The page says how to connect; its Python configuration, pasted into a real client with the
  // password in KAFKA_PASSWORD, writes an event.
  const connect = page.getByTestId('connect-sandbox');
  await expect(connect).toContainText('SCRAM-SHA-512');
  await connect.getByText('Python (confluent-kafka)').click();
  await expectNoSeriousA11yViolations(page);
  const snippet = await page.getByTestId('snippet-python-sandbox').textContent();
  expect(snippet).toContain('os.environ["KAFKA_PASSWORD"]');
  expect(snippet).not.toContain(password);
  const script = path.join(os.tmpdir(), `connect-${Date.now()}.py`);
  fs.writeFileSync(script, snippet!);
  await expect(async () => {
    const run = spawnSync(python, [script], { env: { ...process.env, KAFKA_PASSWORD: password }, encoding: 'utf8', timeout: 40_000 });
    expect(run.stderr + run.stdout).toContain('delivered to submission_trace_form_status_change');
    expect(run.status).toBe(0);
  }).toPass({ timeout: 60_000 });

  await page.reload();
  await expect(page.getByTestId('revealed-credential')).toHaveCount(0);
  await expect(page.getByTestId('credential-sandbox')).toContainText('was shown once already');
  await expect(page.getByRole('button', { name: 'Show the password once' })).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(password);

  // Rotating asks first, on a page of its own; cancelling changes nothing.
  await page.getByRole('link', { name: 'Rotate the password…' }).click();
  await expect(page).toHaveURL(/\?confirm=rotate-sandbox$/);
  const confirm = page.getByTestId('confirm-rotate');
  await expect(confirm.getByRole('heading', { name: 'Rotate the password in sandbox?' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
  await confirm.getByRole('link', { name: 'Cancel' }).click();
  await expect(page.getByTestId('confirm-rotate')).toHaveCount(0);
  await expect(page.getByTestId('credential-sandbox')).toContainText('was shown once already');
  await page.getByRole('link', { name: 'Rotate the password…' }).click();
  await page.getByRole('button', { name: 'Yes, rotate the password' }).click();
  await expect(page.getByRole('button', { name: 'Show the password once' })).toBeVisible({ timeout: 20_000 });

  // The application's page, reached from the request: what it may do, its Kafka user, the
  // waiting password shown once, and how to connect for each of its grants.
  await page.getByRole('link', { name, exact: true }).click();
  await expect(page).toHaveURL(applicationUrl);
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expectHydrated(page);
  const grants = page.getByTestId('grants');
  await expect(grants.getByRole('row').filter({ hasText: 'submission_trace_form_status_change' })).toContainText('Producer');
  await expect(page.getByTestId('connect-sandbox-submission_trace_form_status_change-producer')).toContainText('SCRAM-SHA-512');
  await page.getByRole('button', { name: 'Show the password once' }).click();
  const again = await page.locator('#revealed-password').inputValue();
  expect(again).toHaveLength(43);
  expect(again).not.toEqual(password);
  await expectNoSeriousA11yViolations(page);

  // Rotating from here asks first too, and the page follows the new password until it waits.
  await page.goto(applicationUrl);
  await page.getByRole('link', { name: 'Rotate the password…' }).click();
  await expect(page).toHaveURL(/\/requests\/applications\/[0-9a-f-]{36}\?confirm=rotate-sandbox$/);
  await expectNoSeriousA11yViolations(page);
  await page.getByRole('button', { name: 'Yes, rotate the password' }).click();
  await expect(page.getByRole('button', { name: 'Show the password once' })).toBeVisible({ timeout: 20_000 });

  // Someone outside the team, without an approver's role, is told there is no such page.
  const outsider = await newSession(browser, victor, true);
  const answer = await outsider.goto(applicationUrl);
  expect(answer?.status()).toBe(404);
  await outsider.context().close();
});

test('revoking asks for confirmation on a page of its own, without JavaScript too', async ({ browser }) => {
  const page = await newSession(browser, ada, false);
  // A seeded producer request that is active on Kafka and that no other test uses.
  const request = '/requests/b0000000-0000-4000-8000-000000000008';
  await page.goto(request);
  await expect(page.getByTestId('request-state')).toHaveText('Active');
  await page.getByRole('link', { name: 'Revoke access…' }).click();
  await expect(page).toHaveURL(/\?confirm=revoke$/);
  const confirm = page.getByTestId('confirm-revoke');
  await expect(confirm.getByRole('heading', { name: 'Revoke this access?' })).toBeVisible();
  await expect(confirm).toContainText('cannot be undone');
  await confirm.getByRole('link', { name: 'Cancel' }).click();
  await expect(page.getByTestId('request-state')).toHaveText('Active');
  await expect(page.getByTestId('confirm-revoke')).toHaveCount(0);
  await page.getByRole('link', { name: 'Revoke access…' }).click();
  await page.getByLabel('Reason (optional)').fill('The integration was retired.');
  await page.getByRole('button', { name: 'Yes, revoke access' }).click();
  await expect(async () => {
    await page.goto(request);
    await expect(page.getByTestId('request-state')).toHaveText('Revoked', { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await page.context().close();
});

test('a viewer is offered no action they would be refused', async ({ page }) => {
  await signIn(page, victor);
  await page.goto('/catalog/decision_letter_availability');
  await expect(page.getByRole('heading', { level: 1, name: 'decision_letter_availability' })).toBeVisible();
  for (const action of ['Request access', 'Propose new settings', 'Propose a schema change']) {
    await expect(page.getByRole('link', { name: action })).toHaveCount(0);
  }
  await page.goto('/health/sandbox/topics/claim_status_change');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('claim_status_change');
  await expect(page.getByRole('button')).toHaveCount(await page.locator('.site-header button').count());
});

test('home shows each person what waits for them, and someone new how to start', async ({ browser }) => {
  // An approver: requests waiting for their decision, whom each waits for and for how long.
  const approver = await newSession(browser, gary, true);
  await approver.goto('/');
  const decide = approver.getByTestId('home-decide');
  await expect(decide.getByRole('heading', { name: 'Waiting for your decision' })).toBeVisible();
  await expect(decide.getByRole('link', { name: 'Consumer access to appointment_cancelled for Claim Status Tool' })).toBeVisible();
  await expect(decide.getByRole('listitem').filter({ hasText: 'appointment_cancelled' })).toContainText(/waiting for Owning team \(appointments\) and Governance · for \d+ days?/);
  await expectNoSeriousA11yViolations(approver);
  await approver.context().close();

  // A member: her teams' open requests, each with its state and whom it waits for.
  const member = await newSession(browser, maria, true);
  await member.goto('/');
  const open = member.getByTestId('home-open');
  await expect(open.getByRole('heading', { name: 'Your open requests' })).toBeVisible();
  await expect(open.getByRole('listitem').first()).toContainText(/ · for /);
  await expect(member.getByRole('heading', { name: 'How the portal works' })).toHaveCount(0);
  await member.context().close();

  // A viewer new to the portal: where to start, and nothing they would be refused.
  const viewer = await newSession(browser, victor, true);
  await viewer.goto('/');
  const start = viewer.getByTestId('home-start');
  await expect(start.getByRole('link', { name: 'Find the events you need in the catalog' })).toBeVisible();
  await expect(start.getByRole('link', { name: /Register your application|Ask for producer/ })).toHaveCount(0);
  await expectNoSeriousA11yViolations(viewer);
  await viewer.context().close();
});
