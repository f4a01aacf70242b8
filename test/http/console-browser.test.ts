import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';

/*
 * The web console in a real browser: Debian's Chromium, headless, driven by playwright-core.
 * Screenshots of Overview, Queues and a queue page go to test-results/screenshots (git-ignored).
 * Without Chromium the test is reported as skipped with the reason (`.ci/run` installs it).
 */

const CHROMIUM = process.env['LOCALMQ_CHROMIUM'] ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

if (!existsSync(CHROMIUM)) {
  describe('web console in headless Chromium', () => {
    it.skip(`signs in, shows queues, publishes, gets, purges, closes a connection (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium)`, () => undefined);
  });
} else {
  describe('web console in headless Chromium', () => {
    let broker: LocalMQ;
    let conn: ChannelModel;
    let ch: Channel;
    let profile: string;
    let context: import('playwright-core').BrowserContext;

    beforeAll(async () => {
      broker = await startBroker({ management: { sampleIntervalMs: 500 } });
      conn = await connect(broker);
      ch = await conn.createChannel();
      await ch.assertQueue('browser.orders');
      await ch.assertQueue('browser.inbox');
      await ch.assertExchange('browser.x', 'direct');
      await ch.bindQueue('browser.inbox', 'browser.x', 'inbox');
      for (let i = 1; i <= 3; i++) ch.sendToQueue('browser.orders', Buffer.from(`order ${i}`));
      await broker.waitFor('browser.orders', (m) => m.text() === 'order 3');
      mkdirSync(SHOTS, { recursive: true });
      profile = await mkdtemp(join(tmpdir(), 'localmq-chromium-'));
      const { chromium } = await import('playwright-core');
      // the ActiveMQ profile's console (8162) is HTTPS with the broker's own local CA
      context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1366, height: 900 }, ignoreHTTPSErrors: true });
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      await conn?.close().catch(() => undefined);
      await broker?.stop();
      if (profile) await rm(profile, { recursive: true, force: true });
    });

    it('signs in, shows a queue amqplib declared, publishes from an exchange page, gets and purges from a queue page, and closes a connection', async () => {
      const page = context.pages()[0] ?? (await context.newPage());
      const failures: string[] = [];
      page.on('pageerror', (err) => failures.push(err.message));
      // the one 401 is the wrong password tried on purpose below
      page.on('console', (m) => m.type() === 'error' && !m.text().includes('status of 401') && failures.push(m.text()));

      // on failure, the page as it was helps more than a locator's timeout
      page.setDefaultTimeout(30_000);
      await page.goto(`${broker.urls.http}/`);
      await page.getByLabel('Username').fill('guest');
      await page.getByLabel('Password').fill('wrong');
      await page.getByRole('button', { name: 'Login' }).click();
      await page.getByRole('alert').filter({ hasText: 'Login failed' }).waitFor();
      await page.getByLabel('Password').fill('guest');
      await page.getByRole('button', { name: 'Login' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      await page.getByText(broker.urls.amqp!).first().waitFor();
      await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });

      await page.getByRole('link', { name: 'Queues and Streams' }).click();
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'browser.orders', exact: true }) });
      await row.waitFor();
      // columns: vhost, name, type, policy, state, ready, unacked, total
      await expect.poll(async () => (await row.getByRole('cell').nth(5).textContent())?.trim(), { timeout: 30_000 }).toBe('3');
      await page.screenshot({ path: join(SHOTS, 'queues.png'), fullPage: true });

      await page.goto(`${broker.urls.http}/#/exchange/%2F/browser.x`);
      await page.getByRole('heading', { name: /Exchange browser\.x/ }).waitFor();
      const publish = page.getByRole('form', { name: 'Publish message' });
      await publish.getByLabel('Routing key').fill('inbox');
      await publish.getByLabel('Headers (name=value, one a line)').fill('origin=console');
      await publish.getByLabel('Payload').fill('from the browser');
      await publish.getByRole('button', { name: 'Publish message' }).click();
      await publish.getByText('Message published.').waitFor();
      const got = await ch.get('browser.inbox', { noAck: true });
      expect(got && got.content.toString()).toBe('from the browser');
      expect(got && got.properties.headers).toMatchObject({ origin: 'console' });

      await page.getByRole('link', { name: 'Queues and Streams' }).click();
      await page.getByRole('link', { name: 'browser.orders', exact: true }).click();
      await page.getByRole('heading', { name: /Queue browser\.orders/ }).waitFor();
      const getForm = page.getByRole('form', { name: 'Get messages' });
      await getForm.getByLabel('Ack mode').selectOption('ack_requeue_false');
      await getForm.getByRole('button', { name: 'Get Message(s)' }).click();
      await getForm.locator('pre.payload').filter({ hasText: 'order 1' }).waitFor();
      expect(broker.queue('browser.orders').messageCount()).toBe(2);
      await page.screenshot({ path: join(SHOTS, 'queue.png'), fullPage: true });
      await page.getByRole('button', { name: 'Purge Messages' }).click();
      await expect.poll(() => broker.queue('browser.orders').messageCount(), { timeout: 30_000 }).toBe(0);

      const closed = new Promise<Error | undefined>((resolve) => conn.on('close', resolve));
      await page.getByRole('link', { name: 'Connections' }).click();
      await page.getByRole('button', { name: /^Close connection / }).first().click();
      const err = await closed;
      expect(err?.message).toContain('CONNECTION_FORCED - Closed via management console');
      expect(failures).toEqual([]);
    }, 150_000);

    it("speaks ActiveMQ's vocabulary on the ActiveMQ profile's console port (HTTPS), and shows the engine version where ActiveMQ's console does", async () => {
      const activemq = await startBroker({ engine: 'activemq', engineVersion: '5.18', users: [{ name: 'admin', password: 'admin-secret-1', tags: ['administrator'] }] });
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(30_000);
        await page.goto(`${activemq.urls.console}/`);
        await page.getByLabel('Username').fill('admin');
        await page.getByLabel('Password').fill('admin-secret-1');
        await page.getByRole('button', { name: 'Login' }).click();
        // ActiveMQ's console home page (activemq-web-console index.jsp): a Broker table with its Version
        const broker = page.getByRole('table', { name: 'Broker' });
        await broker.getByRole('row', { name: 'Version 5.18.7' }).waitFor();
        await page.getByText('Apache ActiveMQ 5.18.7', { exact: false }).first().waitFor();
        await page.getByRole('link', { name: 'Destinations' }).click();
        await page.getByRole('heading', { name: 'Destinations' }).waitFor();
        await page.getByRole('columnheader', { name: 'Pending messages' }).waitFor();
        await page.getByRole('columnheader', { name: 'Enqueued rate' }).waitFor();
        await page.getByRole('columnheader', { name: 'Messages dequeued' }).waitFor();
        await page.close();
      } finally {
        await activemq.stop();
      }
    }, 120_000);
  });
}
