import AxeBuilder from '@axe-core/playwright';
import { expect, type Browser, type Page } from '@playwright/test';

export type DemoUser = {
  username: string;
  password: string;
  name: string;
  roles: string[];
  nav: string[];
};

export const ALL_AREAS = ['Catalog', 'My requests', 'Approvals', 'Health', 'Admin'];

export const maria: DemoUser = {
  username: 'maria',
  password: 'maria-demo-pw',
  name: 'Maria Lopez',
  roles: ['Member'],
  nav: ['Catalog', 'My requests', 'Health'],
};
export const gary: DemoUser = {
  username: 'gary',
  password: 'gary-demo-pw',
  name: 'Gary Chen',
  roles: ['Approver'],
  nav: ['Catalog', 'Approvals', 'Health'],
};
export const ada: DemoUser = {
  username: 'ada',
  password: 'ada-demo-pw',
  name: 'Ada Okafor',
  roles: ['Admin'],
  nav: ALL_AREAS,
};
export const omar: DemoUser = {
  username: 'omar',
  password: 'omar-demo-pw',
  name: 'Omar Haddad',
  roles: ['Member', 'Team approver'],
  nav: ['Catalog', 'My requests', 'Approvals', 'Health'],
};
export const victor: DemoUser = {
  username: 'victor',
  password: 'victor-demo-pw',
  name: 'Victor Stein',
  roles: ['Viewer'],
  nav: ['Catalog', 'Health'],
};

/** Fills the identity provider's own login form. */
export async function fillProviderLogin(page: Page, user: DemoUser) {
  await expect(page.getByRole('heading', { name: 'Sign in to the Event Bus' })).toBeVisible();
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signs in from the landing page through the real provider and waits for the portal header. */
export async function signIn(page: Page, user: DemoUser) {
  await page.goto('/');
  await page.getByRole('banner').getByRole('link', { name: 'Sign in', exact: true }).click();
  await fillProviderLogin(page, user);
  await expect(page.getByTestId('user-name')).toHaveText(user.name);
}

/** Runs axe-core and fails on any serious or critical violation, listing them. */
/** A signed-in page in a browser context of its own, with or without JavaScript. */
export async function newSession(browser: Browser, user: DemoUser, javaScriptEnabled: boolean): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await signIn(page, user);
  return page;
}

export async function expectNoSeriousA11yViolations(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(serious, `axe violations on ${page.url()}`).toEqual([]);
}

/**
 * Collects browser-side panics (a failed hydration panics in the wasm bundle) and anything the
 * Content Security Policy refused (a page that needs what the policy forbids).
 */
export function watchForPanics(page: Page): string[] {
  const panics: string[] = [];
  page.on('console', (message) => {
    if (
      message.type() === 'error'
      && /panicked|hydration error|Content Security Policy|Refused to (execute|load|apply|connect|compile)/i.test(message.text())
    ) {
      panics.push(`${page.url()}: ${message.text().slice(0, 200)}`);
    }
  });
  return panics;
}

/** Waits until the wasm bundle has hydrated the page, so browser-side behaviour is live. */
export async function expectHydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 20_000 });
}
