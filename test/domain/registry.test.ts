import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { entityTtlMs, NAMESPACES } from '../../src/domain/registry.js';
import { invalidationFor } from '../../src/invalidation/table.js';

describe('the domain registry', () => {
  it('gives every namespace a TTL: exact override, then its type, then the default', () => {
    const ttl = entityTtlMs({ Kit: 60, 'Club.kitIds': 120 });
    expect(ttl('Kit')).toBe(60_000);
    expect(ttl('Kit.competitionIds')).toBe(60_000);
    expect(ttl('Club.kitIds')).toBe(120_000);
    expect(ttl('Club')).toBe(600_000);
    expect(ttl('Season')).toBe(3_600_000);
    for (const ns of NAMESPACES) expect(ttl(ns)).toBeGreaterThan(0);
  });

  it('refuses an ENTITY_TTL_SECONDS override naming no namespace (a typo would otherwise do nothing)', () => {
    expect(loadConfig({ ENTITY_TTL_SECONDS: 'Kit=300,Club.kitIds=120' }).entityTtlSeconds).toEqual({
      Kit: 300,
      'Club.kitIds': 120,
    });
    expect(() => loadConfig({ ENTITY_TTL_SECONDS: 'Kits=300' })).toThrow(ConfigError);
    expect(() => loadConfig({ ENTITY_TTL_SECONDS: 'Club.kitsIds=300' })).toThrow(/Club\.kitsIds/);
  });

  it('names only registered namespaces in what a write drops', () => {
    const kit = { id: 7, clubId: 1, seasonId: 2, brandId: 3, type: 'HOME', competitionIds: [4] } as const;
    const row = {
      ...kit,
      name: 'k',
      primaryColour: 'red',
      secondaryColours: [],
      description: null,
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    const { keys } = invalidationFor({ entity: 'Kit', after: { ...row, competitionIds: [4] }, collectorIds: [9] });
    for (const k of keys) expect(NAMESPACES).toContain(k.namespace);
    expect(keys.map((k) => k.namespace)).toContain('User.collectionItemIds');
  });
});
