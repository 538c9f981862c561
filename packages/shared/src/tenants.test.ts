import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.js';
import { keyDigest, OPEN_TENANT, TenantDirectory } from './tenants.js';

test("keys name their tenant: TENANTS' keys share one, any other key is a tenant of its own named by its digest", () => {
  const tenants = new TenantDirectory(
    loadConfig({
      TENANTS: JSON.stringify([
        { name: 'acme', keys: ['acme-key-000000001', 'acme-key-000000002'], weight: 3, maxInteractivePages: 4 },
      ]),
      API_KEYS: 'a-bare-key-00000003',
      ADMIN_API_KEYS: 'an-admin-key-000004,acme-key-000000001',
      TENANT_DOCUMENTS_PER_MINUTE: '7',
    }),
  );
  assert.equal(tenants.digests.get(keyDigest('acme-key-000000001'))?.name, 'acme');
  assert.equal(tenants.digests.get(keyDigest('acme-key-000000002'))?.name, 'acme');
  assert.equal(
    tenants.digests.get(keyDigest('a-bare-key-00000003'))?.name,
    `key-${keyDigest('a-bare-key-00000003').slice(0, 12)}`,
  );
  assert.match(tenants.digests.get(keyDigest('an-admin-key-000004'))?.name ?? '', /^key-[0-9a-f]{12}$/);
  assert.equal(tenants.digests.get(keyDigest('unknown-key-0000005')), undefined);
  assert.equal(tenants.digests.size, 4);
  assert.equal(tenants.named('acme').documentsPerMinute, 7);
  assert.deepEqual([tenants.named('acme').weight, tenants.named('acme').maxInteractivePages], [3, 4]);
  const bare = tenants.digests.get(keyDigest('a-bare-key-00000003'));
  assert.deepEqual(
    [bare?.weight, bare?.maxInteractivePages],
    [1, 20],
    'the defaults: weight 1, TENANT_MAX_INTERACTIVE_PAGES',
  );
  assert.equal(tenants.named(undefined).name, OPEN_TENANT);
});
