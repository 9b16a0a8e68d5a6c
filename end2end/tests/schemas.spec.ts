import { expect, test } from '@playwright/test';
import { expectHydrated, expectNoSeriousA11yViolations, gary, maria, omar, signIn } from './support';

const TOPIC = 'claim_status_change';

test('an incompatible schema change shows its reasons while written, then owner and governance approve it into the catalog', async ({ browser, page }) => {
  // A field name of its own, so the journey can run again on the same database.
  const field = `reviewed_by_${Date.now()}`;
  await signIn(page, maria);
  await page.goto(`/catalog/${TOPIC}`);
  await page.getByRole('link', { name: 'Propose a schema change' }).click();
  await expect(page).toHaveURL(/\/requests\/schema-change\?topic=claim_status_change/);
  await expectHydrated(page);

  // The form starts from the latest version; the check runs on what is there.
  const schemaBox = page.getByLabel('Schema', { exact: true });
  await expect(page.getByTestId('schema-unchanged')).toBeVisible();
  const latest = JSON.parse(await schemaBox.inputValue());

  const breaking = { ...latest, fields: [...latest.fields, { name: field, type: 'string', doc: 'Who reviewed the change.' }] };
  await schemaBox.fill(JSON.stringify(breaking, null, 2));
  const findings = page.getByTestId('schema-findings');
  await expect(findings).toContainText(
    'Not BACKWARD compatible: consumers on the new schema could not read every event written with the previous version.',
  );
  await expect(findings).toContainText(field);
  await expect(page.getByTestId('schema-approvals')).toContainText('governance because');
  await expect(page.getByTestId('schema-diff')).toContainText(field);
  await expectNoSeriousA11yViolations(page);

  // The fix the reasons point at: a default lets new readers read old events.
  const fixed = { ...latest, fields: [...latest.fields, { name: field, type: 'string', default: 'nobody', doc: 'Who reviewed the change.' }] };
  await schemaBox.fill(JSON.stringify(fixed, null, 2));
  await expect(page.getByTestId('schema-compatible')).toContainText('BACKWARD compatible with version');
  await expect(page.getByTestId('schema-approvals')).toHaveText('Approval: the owning team.');

  // The team takes the breaking version to approval instead (its consumers upgrade first).
  await schemaBox.fill(JSON.stringify(breaking, null, 2));
  await expect(findings).toContainText(field);
  await page.getByLabel('Producing application').selectOption({ label: 'Claim Status Tool (claims-status)' });
  await page.getByLabel('Why').fill('Reviews are recorded; consumers upgrade before we produce it.');
  await page.getByRole('button', { name: 'Submit for approval' }).click();

  await expect(page).toHaveURL(/\/requests\/[0-9a-f-]{36}$/);
  const requestUrl = page.url();
  await expect(page.getByTestId('request-state')).toHaveText('Waiting for approval');
  await expect(page.getByTestId('schema-findings')).toContainText(field);

  for (const [user, slot] of [[omar, 'Owning team'], [gary, 'Governance']] as const) {
    const approver = await browser.newContext().then((c) => c.newPage());
    await signIn(approver, user);
    await approver.goto(requestUrl);
    await expect(approver.getByTestId('schema-diff')).toContainText(field);
    await approver.getByRole('region', { name: `Your decision (${slot})` }).getByRole('button', { name: 'Approve' }).click();
    await expect(approver.getByRole('region', { name: /Your decision/ })).toHaveCount(0);
    await approver.context().close();
  }

  await page.goto(requestUrl);
  await expect(page.getByTestId('request-state')).toHaveText('Active');
  await page.goto(`/catalog/${TOPIC}`);
  await expect(page.getByTestId('schema-version').first()).toContainText(`${TOPIC}-value, version`);
  await expect(page.getByRole('row', { name: new RegExp(field) })).toContainText('Who reviewed the change.');
});

test('the catalog tells a consumer what each field of a schema holds, with an example event', async ({ page }) => {
  await signIn(page, maria);
  await page.goto(`/catalog/${TOPIC}`);
  await expectHydrated(page);
  const fields = page.getByRole('table', { name: `Fields of ${TOPIC}-value` });
  await expect(fields.getByRole('row', { name: /^phase/ })).toContainText(
    'one of RECEIVED, EVIDENCE_GATHERING, REVIEW, DECISION, COMPLETE (enum ClaimPhase)',
  );
  await expect(fields.getByRole('row', { name: /^changed_on/ })).toContainText('date (days since 1970-01-01)');
  const note = fields.getByRole('row', { name: /^note/ });
  await expect(note).toContainText('optional: string, or null');
  await expect(note.getByRole('cell').nth(2)).toHaveText('null');
  await expect(page.getByText('Made up from the schema to show its shape')).toBeVisible();
  const example = page.getByTestId('example-event').first();
  await expect(example).toContainText('"phase": "RECEIVED"');
  await expect(example).toContainText('"changed_on": "2026-11-27"');
  // A nullable field shows a value of its type, not null.
  await expect(example).not.toContainText('null');
});

test('the schema-change page loads each part and format on its own, and offers only the owning team its applications', async ({ page }) => {
  await signIn(page, maria);
  await page.goto(`/requests/schema-change?topic=${TOPIC}`);
  await expectHydrated(page);
  const schemaBox = page.getByLabel('Schema', { exact: true });
  const now = page.getByTestId('schema-now');
  await expect(now).toContainText(`of ${TOPIC}-value (Avro)`);
  await expect(schemaBox).toHaveValue(/ClaimStatusChanged/);

  // The key has no schema yet: nothing of the value's stays.
  await page.getByLabel('Key or value').selectOption('key');
  await expect(now).toHaveText('No schema yet for this part.');
  await expect(schemaBox).toHaveValue('');
  await page.getByLabel('Key or value').selectOption('value');
  await expect(now).toContainText(`of ${TOPIC}-value (Avro)`);
  await expect(schemaBox).toHaveValue(/ClaimStatusChanged/);

  // Another format starts from that format's skeleton, not a parse error of the Avro text.
  await page.getByLabel('Format').selectOption('json');
  await expect(schemaBox).toHaveValue(/json-schema\.org/);
  await expect(page.getByTestId('schema-findings')).toBeVisible();
  await expect(page.getByTestId('schema-problem')).toHaveCount(0);

  const offered = await page.getByLabel('Producing application').locator('option').allTextContents();
  expect(offered.length).toBeGreaterThan(0);
  for (const application of offered) expect(application).toMatch(/\(claims-status\)$/);
});
