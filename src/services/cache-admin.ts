/** ADMIN-only cache administration, in domain terms: which typenames can be purged. */
import type { Viewer } from '../auth/viewer.js';
import type { CacheAdmin } from '../cache/admin.js';
import { isEntityType, PURGEABLE_TYPES } from '../domain/registry.js';
import { badInput } from '../errors.js';
import { requireAdmin } from './guards.js';

export function createCacheAdminService(admin: CacheAdmin) {
  return {
    async stats(viewer: Viewer | null) {
      requireAdmin(viewer);
      const s = await admin.stats();
      return {
        id: 'cache-stats',
        responseCache: { id: 'response', ...s.response },
        entityCache: { id: 'entity', ...s.entity },
        redis: { id: 'redis', ...s.redis },
      };
    },
    async purge(viewer: Viewer | null, typename: string, id: number): Promise<boolean> {
      requireAdmin(viewer);
      if (!isEntityType(typename) || !PURGEABLE_TYPES.includes(typename)) {
        throw badInput(`typename must be one of ${PURGEABLE_TYPES.join(', ')}`, 'typename');
      }
      await admin.purge([`${typename}:${id}`], [{ namespace: typename, id }]);
      return true;
    },
    async purgeAll(viewer: Viewer | null): Promise<boolean> {
      requireAdmin(viewer);
      await admin.purgeAll();
      return true;
    },
  };
}

export type CacheAdminService = ReturnType<typeof createCacheAdminService>;
