import { expect, test } from '@playwright/test';
import { ALL_AREAS, ada, expectHydrated, fillProviderLogin, gary, maria, signIn, victor } from './support';

for (const user of [maria, gary, ada, victor]) {
  test(`${user.username} signs in through the provider, sees the navigation for their role, and signs out`, async ({ page }) => {
    await signIn(page, user);

    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link')).toHaveText(user.nav.map((name) => new RegExp(`^${name}`)));
    for (const hidden of ALL_AREAS.filter((a) => !user.nav.includes(a))) {
      await expect(nav.getByRole('link', { name: hidden, exact: true })).toHaveCount(0);
    }
    await expect(page.getByRole('list', { name: 'Your roles' }).getByRole('listitem')).toHaveText(user.roles);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/(\?.*)?$/);
    await expect(page.getByRole('banner').getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
    await expect(page.getByTestId('user-name')).toHaveCount(0);

    // The session is gone: a signed-in area sends us to the provider again.
    await page.goto('/catalog');
    await expect(page.getByRole('heading', { name: 'Sign in to the Event Bus' })).toBeVisible();
  });
}

test('a member of two teams sees both teams', async ({ page }) => {
  await signIn(page, maria);
  await expect(page.getByRole('banner')).toContainText('Teams: benefits-notifications, claims-status');
});

test('a signed-in area without a session goes to sign-in and comes back after it', async ({ page }) => {
  const response = await page.goto('/approvals');
  expect(response?.url()).toContain('/interaction/');
  await fillProviderLogin(page, gary);
  await expect(page).toHaveURL(/\/approvals$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Approvals' })).toBeVisible();
});

test('a tampered state parameter on the callback is refused', async ({ page }) => {
  // Walk the real sign-in with the browser's own cookie jar, stopping before the callback.
  const api = page.request;
  const next = async (url: string, init?: { form: Record<string, string> }) => {
    const response = init
      ? await api.post(url, { form: init.form, maxRedirects: 0 })
      : await api.get(url, { maxRedirects: 0 });
    expect(response.status(), url).toBe(303);
    return new URL(response.headers()['location'], url).toString();
  };
  const portal = test.info().project.use.baseURL!;
  const authorize = await next(`${portal}/auth/login`);
  const interaction = await next(authorize);
  const loginPage = await (await api.get(interaction)).text();
  const action = new URL(/<form[^>]*action="([^"]+)"/.exec(loginPage)![1], interaction).toString();
  const resume = await next(action, { form: { username: maria.username, password: maria.password } });
  const callbackUrl = await next(resume);
  expect(new URL(callbackUrl).pathname).toBe('/auth/callback');

  const tampered = new URL(callbackUrl);
  tampered.searchParams.set('state', `${tampered.searchParams.get('state')}x`);
  const refused = await page.goto(tampered.toString());
  expect(refused?.status()).toBe(400);
  await expect(page.getByRole('heading', { name: 'Sign-in refused' })).toBeVisible();

  // The refused attempt is used up: the genuine callback cannot be replayed afterwards.
  const replay = await page.goto(callbackUrl);
  expect(replay?.status()).toBe(400);
  // Nobody is signed in to the portal (the provider's own session is another matter).
  const me = await api.post(`${portal}/api/session/user`, { form: {} });
  expect(await me.text()).toBe('null');
});

test('the session endpoint tells an anonymous caller only that nobody is signed in', async ({ request }) => {
  const response = await request.post('/api/session/user', { data: {} });
  // Anonymous callers learn only that nobody is signed in.
  expect(response.status()).toBe(200);
  expect(await response.text()).toBe('null');
});

test('an area outside the role is refused with 403', async ({ page }) => {
  await signIn(page, victor);
  const response = await page.goto('/admin');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: 'You do not have access to this page' })).toBeVisible();
});

test('an unknown page is a 404', async ({ page }) => {
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('after hydration, navigation happens in the browser without reloading the page', async ({ page }) => {
  await signIn(page, ada);
  // The page signing in lands on has its own pack: counting starts once that page is live.
  await expectHydrated(page);
  // Each page's code arrives as one pack: one request for the page shown, one more for the page
  // opened next, and no chunk fetched on its own.
  const code: string[] = [];
  page.on('request', (r) => {
    const file = new URL(r.url()).pathname.split('/').pop() ?? '';
    if (file.endsWith('.wasm') && file !== 'portal_bg.wasm') code.push(file);
  });
  await page.goto('/catalog');
  await expect(page.getByRole('heading', { level: 1, name: 'Catalog' })).toBeVisible();
  await expectHydrated(page);
  expect(code).toEqual([expect.stringMatching(/^pack__catalog_view_\d+\.wasm$/)]);
  const documentLoads: string[] = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'document') documentLoads.push(r.url());
  });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Health' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Health' })).toBeVisible();
  await expect(page).toHaveURL(/\/health$/);
  expect(documentLoads).toEqual([]);
  expect(code).toEqual([
    expect.stringMatching(/^pack__catalog_view_\d+\.wasm$/),
    expect.stringMatching(/^pack__health_view_\d+\.wasm$/),
  ]);
});
