import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startStack, type Stack } from './support/stack.js';

const KEY = 'dashboard-key-0123456789';
const TENANT = 'tenant-key-0123456789ab';
const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

describe('the queue dashboard at /admin/queues', () => {
  let off: Stack;
  let on: Stack;
  before(async () => {
    off = await startStack();
    on = await startStack({ ADMIN_DASHBOARD: 'true', API_KEYS: TENANT, ADMIN_API_KEYS: KEY });
  });
  after(async () => {
    await off.stop();
    await on.stop();
  });

  test('is off by default', async () => {
    assert.equal((await fetch(`${off.url}/admin/queues`)).status, 404);
  });

  test('when on, it asks a browser for an administrator key (HTTP Basic): a wrong one 401, a tenant key 403', async () => {
    for (const authorization of [undefined, basic('not-the-key-at-all')]) {
      const response = await fetch(`${on.url}/admin/queues`, authorization ? { headers: { authorization } } : {});
      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="pagefleet admin"/);
    }
    const tenant = await fetch(`${on.url}/admin/queues`, { headers: { authorization: basic(TENANT) } });
    assert.equal(tenant.status, 403);
    assert.equal(((await tenant.json()) as { code: string }).code, 'forbidden');
  });

  test('with the key it serves the board and lists every queue', async () => {
    const headers = { authorization: basic(KEY) };
    const page = await fetch(`${on.url}/admin/queues`, { headers });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const api = await fetch(`${on.url}/admin/queues/api/queues`, {
      headers: { ...headers, authorization: `Bearer ${KEY}` },
    });
    assert.equal(api.status, 200);
    const { queues } = (await api.json()) as { queues: Array<{ name: string }> };
    assert.deepEqual(queues.map((queue) => queue.name).sort(), [
      'documents',
      'maintenance',
      'pages',
      'pages-large',
      'pages-paddle',
      'splits',
      'webhooks',
    ]);
  });
});
