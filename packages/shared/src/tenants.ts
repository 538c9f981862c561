import { createHash } from 'node:crypto';
import type { Config } from './config.js';

/** Who submitted a document: it owns it, and its limits and usage are its own. */
export interface Tenant {
  name: string;
  documentsPerMinute: number;
  /** Pages of its running documents not yet read, at most (see `DocumentLedger.openPages`); unset, no limit. */
  maxQueuedPages: number | undefined;
  /** Pages of its running interactive documents not yet read, at most. */
  maxInteractivePages: number;
  /** Its share of the workers while other tenants have pages waiting too (docs/tenants.md). */
  weight: number;
}

/** Everyone's tenant where no key is required. */
export const OPEN_TENANT = 'default';

/** SHA-256 of a key, hex: what is compared and kept, never the key. */
export const keyDigest = (key: string): string => createHash('sha256').update(key).digest('hex');

/**
 * The tenants the configuration names, by the digests of their keys: TENANTS' tenants, and each
 * other key of API_KEYS or ADMIN_API_KEYS a tenant of its own, named `key-` and the first twelve
 * hex digits of its digest (a name that can be shown: it says nothing of the key).
 */
export class TenantDirectory {
  private readonly byDigest = new Map<string, Tenant>();
  private readonly byName = new Map<string, Tenant>();
  readonly open: Tenant;

  constructor(
    config: Pick<
      Config,
      | 'TENANTS'
      | 'API_KEYS'
      | 'ADMIN_API_KEYS'
      | 'TENANT_DOCUMENTS_PER_MINUTE'
      | 'TENANT_MAX_QUEUED_PAGES'
      | 'TENANT_MAX_INTERACTIVE_PAGES'
    >,
  ) {
    const limits = {
      documentsPerMinute: config.TENANT_DOCUMENTS_PER_MINUTE,
      maxQueuedPages: config.TENANT_MAX_QUEUED_PAGES,
      maxInteractivePages: config.TENANT_MAX_INTERACTIVE_PAGES,
      weight: 1,
    };
    this.open = { name: OPEN_TENANT, ...limits };
    for (const entry of config.TENANTS ?? []) {
      const tenant = {
        name: entry.name,
        documentsPerMinute: entry.documentsPerMinute ?? limits.documentsPerMinute,
        maxQueuedPages: entry.maxQueuedPages ?? limits.maxQueuedPages,
        maxInteractivePages: entry.maxInteractivePages ?? limits.maxInteractivePages,
        weight: entry.weight ?? limits.weight,
      };
      this.byName.set(tenant.name, tenant);
      for (const key of entry.keys) this.byDigest.set(keyDigest(key), tenant);
    }
    for (const key of [...(config.API_KEYS ?? []), ...(config.ADMIN_API_KEYS ?? [])]) {
      const digest = keyDigest(key);
      if (this.byDigest.has(digest)) continue;
      const tenant = { name: `key-${digest.slice(0, 12)}`, ...limits };
      this.byName.set(tenant.name, tenant);
      this.byDigest.set(digest, tenant);
    }
  }

  /** A tenant by its name: the open tenant where no key is in use. */
  named(name: string | undefined): Tenant {
    return (name === undefined ? undefined : this.byName.get(name)) ?? this.open;
  }

  /** Every key's digest (see `keyDigest`) that opens `/v1`, with its tenant. */
  get digests(): ReadonlyMap<string, Tenant> {
    return this.byDigest;
  }
}
