/** A signed-in user's own collection. Other users' items are invisible: NOT_FOUND, not FORBIDDEN. */
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import type { Db, Tx } from '../db/client.js';
import type { CatalogueRepository } from '../db/repositories/catalogue.js';
import type { UserRepository } from '../db/repositories/users.js';
import { notFound } from '../errors.js';
import type { Invalidator } from '../domain/changes.js';
import { requireUser } from './guards.js';
import { changesNothing, optionalText, validate } from './validation.js';
import { createWriter } from './write.js';

const condition = z.enum(['MINT', 'EXCELLENT', 'GOOD', 'WORN']);
const addInput = z.object({ condition, note: optionalText(500) });
const updateInput = z.object({ condition: condition.nullish(), note: optionalText(500).optional() });

export function createCollectionService(deps: {
  db: Db;
  users: UserRepository;
  catalogue: CatalogueRepository;
  invalidator: Invalidator;
}) {
  const { users, catalogue } = deps;
  const write = createWriter(deps);

  async function ownItem(tx: Tx, viewer: Viewer, id: number) {
    const item = await users.collectionItemById(tx, id);
    if (!item || item.userId !== viewer.id) throw notFound('CollectionItem', id);
    return item;
  }

  return {
    add: (viewer: Viewer | null, kitId: number, input: unknown) => {
      const v = requireUser(viewer);
      const { condition: c, note } = validate(addInput, input);
      return write(async (tx) => {
        const kit = await catalogue.kits.forUpdate(tx, kitId);
        if (!kit) throw notFound('Kit', kitId);
        const after = await users.collectionItems.insert(tx, { userId: v.id, kitId, condition: c, note: note ?? null });
        return { result: after, changes: [{ entity: 'CollectionItem', after }] };
      });
    },
    update: (viewer: Viewer | null, id: number, input: unknown) => {
      const v = requireUser(viewer);
      const parsed = validate(updateInput, input);
      const values = {
        ...(parsed.condition ? { condition: parsed.condition } : {}),
        ...(parsed.note !== undefined ? { note: parsed.note } : {}),
      };
      return write(async (tx) => {
        const before = await ownItem(tx, v, id);
        const after = changesNothing(values) ? before : (await users.collectionItems.update(tx, id, values))!;
        return { result: after, changes: [{ entity: 'CollectionItem', before, after }] };
      });
    },
    remove: (viewer: Viewer | null, id: number) => {
      const v = requireUser(viewer);
      return write(async (tx) => {
        const before = await ownItem(tx, v, id);
        await users.collectionItems.delete(tx, id);
        return { result: id, changes: [{ entity: 'CollectionItem', before }] };
      });
    },
  };
}

export type CollectionService = ReturnType<typeof createCollectionService>;
