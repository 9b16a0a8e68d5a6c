import { expect, test } from '@playwright/test';
import { ALL_AREAS, ada, expectHydrated, expectNoSeriousA11yViolations, maria, signIn, watchForPanics } from './support';

test('anonymous pages have no serious accessibility violations', async ({ page }) => {
  for (const path of ['/', '/no-such-page']) {
    await page.goto(path);
    await expectNoSeriousA11yViolations(page);
  }
  await page.goto('/auth/callback?state=unknown&code=x');
  await expect(page.getByRole('heading', { name: 'Sign-in refused' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
  // The provider's login page is part of the journey too.
  await page.goto('/auth/login');
  await expect(page.getByRole('heading', { name: 'Sign in to the Event Bus' })).toBeVisible();
  await expectNoSeriousA11yViolations(page);
});

test('every signed-in page has no serious accessibility violations', async ({ page }) => {
  const panics = watchForPanics(page);
  await signIn(page, ada);
  // The links are followed in the browser once the page is hydrated (a click while its chunk is
  // still loading can be lost; see ARCHITECTURE.md).
  await expectHydrated(page);
  await expectNoSeriousA11yViolations(page);
  for (const area of ALL_AREAS) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: area, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: area })).toBeVisible();
    await expectNoSeriousA11yViolations(page);
  }
  // The Drift page, reached from Admin: the latest check of each cluster and what it found.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin', exact: true }).click();
  await page.getByRole('link', { name: 'Compare the clusters with the portal' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Drift' })).toBeVisible();
  await expect(page.getByTestId('reconcile-runs').getByRole('row')).toHaveCount(3);
  await expectNoSeriousA11yViolations(page);
  expect(panics).toEqual([]);
});

test('the topic page, the request form and a request page have no serious accessibility violations', async ({ page }) => {
  const panics = watchForPanics(page);
  await signIn(page, maria);
  for (const [path, heading] of [
    ['/catalog/decision_letter_availability', 'decision_letter_availability'],
    ['/requests/new', 'New access request'],
    ['/requests/new-topic', 'Propose a new topic'],
    ['/notifications', 'Notifications'],
    ['/requests/teams', 'Team settings'],
    ['/requests/topic-change?topic=decision_letter_availability', 'Propose new settings'],
    // A seeded request that is active on Kafka, with what its grant allows.
    ['/requests/b0000000-0000-4000-8000-000000000001', /^Consumer access to \S+ for .+$/],
    // A seeded request that was declined, with its reason and timeline.
    ['/requests/b0000000-0000-4000-8000-000000000003', /^Consumer access to \S+ for .+$/],
  ] as const) {
    await page.goto(path);
    // The page's one main heading names what it shows, and so does the window's title.
    await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    await expect(page).toHaveTitle(typeof heading === 'string'
      ? `${heading} · Event Bus Portal`
      : new RegExp(heading.source.replace(/\$$/, ' · Event Bus Portal$')));
    await page.waitForLoadState('networkidle');
    await expectNoSeriousA11yViolations(page);
  }
  expect(panics, 'every page hydrates').toEqual([]);
});
