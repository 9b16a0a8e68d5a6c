import { expect, test } from '@playwright/test';
import { expectHydrated, maria, omar, signIn, watchForPanics } from './support';

test('the content security policy lets the pages hydrate and refuses an injected script', async ({ page }) => {
  const refusals = watchForPanics(page);
  await signIn(page, maria);
  for (const path of ['/', '/catalog', '/requests', '/requests/new', '/health', '/notifications']) {
    await page.goto(path);
    await expectHydrated(page);
  }
  expect(refusals).toEqual([]);

  // A script smuggled into the page (as stored text rendered unescaped would be) does not run.
  const ran = await page.evaluate(async () => {
    const violation = new Promise<string>((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true });
    });
    const script = document.createElement('script');
    script.textContent = 'window.__injected = true';
    document.body.appendChild(script);
    return { injected: (window as unknown as { __injected?: boolean }).__injected === true, directive: await violation };
  });
  expect(ran.injected).toBe(false);
  expect(ran.directive).toMatch(/^script-src/);
});

test('another site cannot make a signed-in browser approve a request', async ({ page, baseURL }) => {
  await signIn(page, omar);
  // A page on another origin that posts an approval form to the portal as soon as it loads.
  await page.route('http://attacker.example/**', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!DOCTYPE html><html><body>
      <form method="post" action="${baseURL}/api/requests/decide">
        <input name="id" value="00000000-0000-4000-8000-000000000000">
        <input name="version" value="1"><input name="decision" value="approve"><input name="reason" value="">
      </form>
      <script>document.forms[0].submit()</script></body></html>`,
  }));
  const refused = page.waitForResponse((r) => r.url().endsWith('/api/requests/decide'));
  await page.goto('http://attacker.example/');
  expect((await refused).status()).toBe(403);
});
