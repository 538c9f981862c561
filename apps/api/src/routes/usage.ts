import { Router, type RequestHandler } from 'express';
import type { TenantDirectory, UsageStore } from '@pagefleet/shared';
import { clientOf } from '../auth.js';

/**
 * Usage a team can bill: `GET /v1/usage` answers the caller's tenant's, `GET /v1/usage/tenants`
 * every tenant's (behind `admin`: it spans tenants).
 */
export function usageRouter(usage: UsageStore, tenants: TenantDirectory, admin: RequestHandler): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    res.json(await usage.read(tenants.named(clientOf(res)).name));
  });
  router.get('/tenants', admin, async (_req, res) => {
    res.json({ tenants: await usage.all() });
  });
  return router;
}
