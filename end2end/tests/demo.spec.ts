import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect, test } from '@playwright/test';

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
