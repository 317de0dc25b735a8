/**
 * The drop channel on a real Redis, two instances' channels and layers in this one process: a drop
 * takes effect in every instance's layer, and is acknowledged to the writer, while the thread that
 * serves requests is busy (the channel runs on a thread of its own and marks drops in shared memory).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDropChannel, dropChannelUnsupported, type DropChannel } from '../../../src/cache/local/drop-channel.js';
import { createDropMarks } from '../../../src/cache/local/drop-marks.js';
import { createLocalLayer, type LocalLayer } from '../../../src/cache/local/local-layer.js';
import { newPrefix } from '../../helpers/caches.js';
import { inProcessLayersSkip } from '../../helpers/proxied-pair.js';

const url = inject('redisUrl');
const skip = inProcessLayersSkip();

type Instance = {
  channel: DropChannel;
  layer: LocalLayer<string>;
  delivered: { ms: number; acknowledged: boolean }[];
  freed: string[];
};
const reports: string[] = [];

/**
 * A connection in MONITOR mode, made so that the race in ioredis cannot fail the test: it takes a
 * connection into monitoring mode only after MONITOR's reply has been handled, so monitored lines
 * that arrive in the same read (other test files' commands, on the shared Redis, before this test
 * publishes anything) are taken for replies and reported as a "Command queue state error" (an
 * 'error' event, which would also reject `redis.monitor()`). Those are kept apart; any other error
 * is the test's business (`unexpectedErrors`).
 */
async function monitorOf(url: string): Promise<Redis & { unexpectedErrors(): string[] }> {
  const monitor = new Redis(url, { monitor: true, lazyConnect: true });
  const errors: string[] = [];
  monitor.on('error', (error: Error) => errors.push(error.message));
  const monitoring = new Promise<void>((resolve) => monitor.once('monitoring', () => resolve()));
  await monitor.connect();
  await monitoring;
  return Object.assign(monitor, {
    unexpectedErrors: () => errors.filter((message) => !message.startsWith('Command queue state error')),
  });
}

describe('the drop channel', () => {
  let redis: Redis;
  let channel = '';
  const instances: Instance[] = [];
  beforeAll(async () => {
    if (skip) return;
    redis = new Redis(url!, { maxRetriesPerRequest: 1 });
    channel = `${newPrefix()}drops`;
    for (let i = 0; i < 2; i++) {
      const marks = createDropMarks();
      const layer = createLocalLayer<string>({ name: 'test', marks, maxBytes: 1 << 20 });
      const delivered: Instance['delivered'] = [];
      const freed: string[] = [];
      const dropChannel = createDropChannel({
        redis,
        channel,
        marks,
        onDrop: (drop) => {
          freed.push(...drop.keys);
          layer.drop(drop.keys, drop.groups);
        },
        onLost: () => layer.clear(),
        report: (where, error) => reports.push(`${i} ${where}: ${String(error)}`),
        onDelivered: (ms, acknowledged) => delivered.push({ ms, acknowledged }),
      });
      instances.push({ channel: dropChannel, layer, delivered, freed });
    }
    for (const { channel } of instances) await channel.ready(10_000);
    // A channel that has listened for less than its 1 s bound waits that bound whole (it may not have
    // heard every instance yet); past it, each has heard the other's heartbeats.
    await new Promise((resolve) => setTimeout(resolve, 1100));
  });
  afterAll(() => {
    for (const { channel } of instances) channel.close();
    redis?.disconnect();
  });

  it.skipIf(skip)(
    `drops from every layer while the request thread is busy, and the writer hears it${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const [writer, reader] = instances as [Instance, Instance];
      for (const { channel } of instances) expect(channel.live()).toBe(true);
      for (const { channel, layer } of instances)
        layer.set('kit:7', 'old name', 64, 60_000, ['Kit.list'], channel.epoch());
      expect(reader.layer.get('kit:7')?.value).toBe('old name');

      const announced = writer.channel.announce({ layer: 'test', keys: ['kit:7'], groups: [] });
      // Busy for up to 2 s, never yielding: only another thread can make the layers drop it.
      const started = performance.now();
      let waited = 0;
      const held = () => instances.some(({ layer }) => layer.get('kit:7') !== undefined);
      while (held() && (waited = performance.now() - started) < 2000);
      expect(reader.layer.get('kit:7'), `after ${waited} ms; ${reports.join('; ')}`).toBeUndefined();
      expect(writer.layer.get('kit:7')).toBeUndefined();
      expect(waited).toBeLessThan(1000);
      // Still busy a while: the acknowledgements need no turn of this thread's loop either.
      while (performance.now() - started < 1200);
      await announced;
      expect(writer.delivered).toHaveLength(1);
      expect(writer.delivered[0]!.acknowledged).toBe(true); // by both, not waited out
      expect(writer.delivered[0]!.ms).toBeLessThan(1000);
      // This thread hears of the drop only afterwards, to free what the layers held.
      await vi.waitFor(() => expect(reader.freed).toContain('kit:7'));
      // A group drop reaches a value kept under that group, and nothing else.
      for (const { channel, layer } of instances) {
        layer.set('page:1', 'old page', 64, 60_000, ['Kit.list'], channel.epoch());
        layer.set('club:2', 'a club', 64, 60_000, ['Club.list'], channel.epoch());
      }
      await writer.channel.announce({ layer: 'test', keys: [], groups: ['Kit.list'] });
      expect(reader.layer.get('page:1')).toBeUndefined();
      expect(reader.layer.get('club:2')?.value).toBe('a club');
      expect(reports).toEqual([]);
    },
  );

  it.skipIf(skip)(
    'keeps nothing a fill read before a drop of it heard since, and keeps one overlapped by drops of other names',
    async () => {
      const [writer, reader] = instances as [Instance, Instance];
      const since = reader.channel.epoch(); // the fills' reads begin
      await writer.channel.announce({ layer: 'test', keys: ['kit:8'], groups: [] });
      await writer.channel.announce({ layer: 'test', keys: ['kit:10'], groups: ['Kit.list'] });
      expect(reader.channel.epoch()).not.toBe(since); // both heard
      reader.layer.set('kit:8', 'read before the drop', 64, 60_000, [], since);
      expect(reader.layer.get('kit:8')).toBeUndefined();
      reader.layer.set('kit:9', 'read before the drops of others', 64, 60_000, ['Club.list'], since);
      expect(reader.layer.get('kit:9')?.value).toBe('read before the drops of others');
      reader.layer.set('kit:8', 'read after', 64, 60_000, [], reader.channel.epoch());
      expect(reader.layer.get('kit:8')?.value).toBe('read after');
    },
  );

  it.skipIf(skip)(
    'acknowledges a drop to its writer alone (which sends itself none), and an older build’s drop where that writer listens',
    async () => {
      const [writer, reader] = instances as [Instance, Instance];
      // MONITOR sees every PUBLISH without being counted as a receiver (a subscriber would be waited for).
      const monitor = await monitorOf(url!);
      const published: [string, string][] = [];
      monitor.on('monitor', (_time: string, args: string[]) => {
        // This channel's drops and acknowledgements only (other test files share the Redis).
        const to = args[1] ?? '';
        if (args[0]?.toLowerCase() !== 'publish' || (to !== channel && !to.startsWith(`${channel}:a:`))) return;
        if (!args[2]?.startsWith('h ')) published.push([to, args[2]!]);
      });
      try {
        const before = writer.delivered.length;
        await writer.channel.announce({ layer: 'test', keys: ['kit:11'], groups: [] });
        expect(writer.delivered.slice(before)).toEqual([{ ms: expect.any(Number), acknowledged: true }]);
        await vi.waitFor(() => expect(published).toHaveLength(2));
        const [drop, ack] = published as [[string, string], [string, string]];
        expect(drop[0]).toBe(channel);
        const id = /^d (r:([0-9a-f-]+):\d+) /.exec(drop[1]);
        expect(id).not.toBeNull();
        // The reader's acknowledgement went to the writer's own channel, not to the shared one; the
        // writer acknowledged its own drop without a message (and was still acknowledged by both).
        expect(ack[0]).toBe(`${channel}:a:${id![2]}`);
        expect(ack[1]).toMatch(new RegExp(`^a ${id![1]} (?!${id![2]}$)`));
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(published).toHaveLength(2);

        // A drop as a build before this one sends it: acknowledged by both on the shared channel.
        published.length = 0;
        reader.layer.set('kit:12', 'old name', 64, 60_000, [], reader.channel.epoch());
        await redis.publish(
          channel,
          `d old-writer:1 ${JSON.stringify({ layer: 'test', keys: ['kit:12'], groups: [] })}`,
        );
        await vi.waitFor(() => expect(published).toHaveLength(3));
        expect(published.slice(1)).toEqual([
          [channel, expect.stringMatching(/^a old-writer:1 /)],
          [channel, expect.stringMatching(/^a old-writer:1 /)],
        ]);
        expect(reader.layer.get('kit:12')).toBeUndefined();
        expect(monitor.unexpectedErrors()).toEqual([]);
      } finally {
        monitor.disconnect();
      }
    },
  );

  it('is not used with a client its thread could not follow to the same server', () => {
    const plain = new Redis({ lazyConnect: true });
    const sentinel = new Redis({ lazyConnect: true, sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'main' });
    expect(dropChannelUnsupported(plain)).toBeNull();
    expect(dropChannelUnsupported(sentinel)).toMatch(/Sentinel/);
    plain.disconnect();
    sentinel.disconnect();
  });
});
