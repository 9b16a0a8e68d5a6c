import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';
import { ada, signIn } from './support';

const python = process.env.EBP_PYTHON ?? path.join(os.homedir(), '.cache/event-bus-portal/python/bin/python');

// The demo catalog: topics without PII are in both environments, topics with PII in production
// only (the sandbox allows none).
const WITHOUT_PII = ['submission_trace_form_status_change', 'claim_status_change', 'appointment_cancelled',
  'notification_delivery_status', 'claim_evidence_uploaded'];
const WITH_PII = ['decision_letter_availability', 'appointment_booked', 'contact_information_change',
  'prescription_refill_shipped'];

test('the demo topics are on their clusters within 30 s of the demo data being loaded', async () => {
  await expect(async () => {
    const run = spawnSync(python, [path.resolve('tests/list_topics.py')], { encoding: 'utf8', timeout: 25_000 });
    expect(run.status, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout) as { sandbox: string[]; prod: string[] };
    for (const topic of WITHOUT_PII) {
      expect(seen.sandbox, `${topic} in sandbox`).toContain(topic);
      expect(seen.prod, `${topic} in prod`).toContain(topic);
    }
    for (const topic of WITH_PII) {
      expect(seen.prod, `${topic} in prod`).toContain(topic);
      expect(seen.sandbox, `${topic} kept out of the sandbox`).not.toContain(topic);
    }
  }).toPass({ timeout: 30_000 });
});

// dev/traffic.py, started right after the demo data, writes claim_status_change in prod steadily
// with Claim Status Tool's own credentials; it notes when it started writing.
test('the demo traffic shows a non-zero rate within 30 s of starting', async ({ page }) => {
  test.setTimeout(120_000);
  const startedFile = path.join(process.env.EBP_STACK_DIR ?? path.resolve('../.stack'), 'traffic.started');
  await expect.poll(() => fs.existsSync(startedFile), { timeout: 60_000 }).toBe(true);
  const startedAt = Number(fs.readFileSync(startedFile, 'utf8'));
  // Whatever the rest of the suite took to get here, the rate must show by start + 30 s.
  const left = Math.max(startedAt + 30_000 - Date.now(), 3_000);
  await signIn(page, ada);
  await expect(async () => {
    await page.goto('/health/prod/topics/claim_status_change');
    await expect(page.getByTestId('topic-rate')).not.toHaveText(/^0(\.0+)?$/, { timeout: 1_000 });
  }).toPass({ timeout: left });
  // The decision letters' burst was read by Notify Service's group, which keeps up.
  await page.goto('/health/prod/groups/notify-decision-letters');
  await expect(page.locator('main')).toContainText('decision_letter_availability');
});
