/**
 * The drop channel's own thread (started by drop-channel.ts): it subscribes, sends and hears
 * heartbeats, applies every drop to the shared marks (drop-marks.ts) the moment it arrives and
 * acknowledges it, and waits for the acknowledgements of the drops this process announces. Nothing
 * here waits for the main thread, so how long a drop takes to reach every instance no longer grows
 * with how busy their event loops are.
 *
 * Messages on the channel: `h <instance> <n>` a heartbeat, `d <drop id> <json>` a drop, and
 * `a <drop id> <instance>` an acknowledgement. Redis delivers a channel's messages in order, so a
 * heartbeat sent after a drop was published comes back after that drop, and is confirmed only once
 * that drop is applied.
 *
 * Acknowledgements go to the writer alone: a drop whose id is `r:<instance>:<n>` is acknowledged on
 * `<channel>:a:<instance>`, which only that instance hears; the writer acknowledges its own drop
 * without a message, once it has applied it as every instance does. On the shared channel every instance
 * would hear every acknowledgement of every drop (with N instances, N² messages per drop instead
 * of N). A drop with an id of another form (a build before this one) is acknowledged on the shared
 * channel, where its writer listens; acknowledgements heard there still count.
 */
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { attachDropMarks, clock } from './drop-marks.js';
import { parseDrop, type Drop, type FromWorker, type ToWorker, type WorkerData } from './drop-messages.js';

/**
 * A drop waiting for its acknowledgements: one from every instance whose heartbeat was heard within
 * `staleMs` (an instance Redis no longer counts as subscribed may not know it yet, and may still be
 * serving locally), and at least as many as PUBLISH counted.
 */
type Pending = {
  expected: Set<string>;
  acknowledged: Set<string>;
  counted: number;
  /** Whether this instance had listened for `staleMs` when it announced (if not, only the full wait will do). */
  settled: boolean;
  done(): void;
};

const complete = (p: Pending) =>
  p.acknowledged.size >= p.counted && [...p.expected].every((id) => p.acknowledged.has(id));

function isWorkerData(value: unknown): value is WorkerData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.marks instanceof SharedArrayBuffer &&
    typeof v.redis === 'object' &&
    typeof v.channel === 'string' &&
    typeof v.staleMs === 'number' &&
    typeof v.heartbeatMs === 'number'
  );
}

const port = parentPort;
if (!port || !isWorkerData(workerData)) throw new Error('drop-worker.ts runs as the drop channel worker only');
const { channel, staleMs, heartbeatMs } = workerData;
const marks = attachDropMarks(workerData.marks);
const post = (message: FromWorker) => port.postMessage(message);
const report = (where: string, error: unknown) =>
  post({ type: 'report', where, message: error instanceof Error ? error.message : String(error) });

const me = randomUUID();
/** Where the acknowledgements of this instance's drops arrive. */
const ackChannel = (instance: string) => `${channel}:a:${instance}`;
const mine = ackChannel(me);
const reconnect = (times: number) => Math.min(times * 100, 2000);
// A publish waits for the connection (a drop announced just after this thread started, or while it
// reconnects, still goes out); a failed connection attempt fails what waits (maxRetriesPerRequest 0).
const publisher = new Redis({
  ...workerData.redis,
  lazyConnect: true,
  enableOfflineQueue: true,
  maxRetriesPerRequest: 0,
  retryStrategy: reconnect,
});
publisher.on('error', () => {}); // a failed publish rejects (and is reported) where it was sent
publisher.connect().catch(() => {});
const subscriber = new Redis({
  ...workerData.redis,
  lazyConnect: true,
  enableOfflineQueue: true,
  autoResubscribe: false,
  maxRetriesPerRequest: null,
  retryStrategy: reconnect,
});

let subscribed = false;
/** When the current subscription began: until `staleMs` after it, this instance may not have heard every other yet. */
let subscribedAt = Infinity;
let closed = false;
let beat = 0;
let dropCount = 0;
const sentAt = new Map<number, number>();
const pending = new Map<string, Pending>();
/** Instances heard on the channel, by when their last heartbeat arrived. */
const members = new Map<string, number>();

function lost() {
  if (subscribed) post({ type: 'lost' });
  subscribed = false;
  subscribedAt = Infinity;
  marks.lose();
}
subscriber.on('ready', () => {
  subscriber.subscribe(channel, mine).then(
    () => {
      if (closed) return;
      // Whatever was dropped while we were not listening: start empty.
      marks.lose();
      post({ type: 'lost' });
      subscribed = true;
      subscribedAt = performance.now();
      marks.subscribed(true);
    },
    (error: unknown) => report('l1.subscribe', error),
  );
});
subscriber.on('close', lost);
subscriber.on('error', () => {}); // a lost link shows as 'close'; the layers are bypassed meanwhile
subscriber.on('message', (from: string, message: string) => {
  if (from === channel || from === mine) heard(message);
});
subscriber.connect().catch(() => {});

function heard(message: string) {
  const kind = message[0];
  if (kind === 'd') {
    const space = message.indexOf(' ', 2);
    const id = message.slice(2, space);
    const drop = parseDrop(message.slice(space + 1));
    if (!drop) return;
    // Applied before it is acknowledged: from here on, no layer of this process serves what it names.
    marks.apply(drop.layer, drop.keys, drop.groups, drop.all === true);
    const writer = /^r:([^:]+):/.exec(id)?.[1];
    // Its own drop, applied: acknowledged here, not by a message to itself (half of a drop's
    // messages on a lone instance).
    if (writer === me) acknowledged(id, me);
    else
      publisher
        .publish(writer ? ackChannel(writer) : channel, `a ${id} ${me}`)
        .catch((error: unknown) => report('l1.ack', error));
    post({ type: 'dropped', drop });
  } else if (kind === 'a') {
    const [, id, from] = message.split(' ');
    if (id !== undefined && from !== undefined) acknowledged(id, from);
  } else if (kind === 'h') {
    const [, from, count] = message.split(' ');
    if (from === undefined) return;
    members.set(from, performance.now());
    if (from !== me) return;
    const n = Number(count);
    const at = sentAt.get(n);
    if (at === undefined) return;
    if (subscribed) marks.confirm(at);
    for (const k of sentAt.keys()) if (k <= n) sentAt.delete(k);
  }
}

/** `from` has applied drop `id`: the drop is done once every instance it waits for has. */
function acknowledged(id: string, from: string) {
  const waiting = pending.get(id);
  if (!waiting) return;
  waiting.acknowledged.add(from);
  if (waiting.settled && complete(waiting)) waiting.done();
}

const heartbeat = setInterval(() => {
  if (!subscribed) return;
  beat += 1;
  sentAt.set(beat, clock());
  publisher.publish(channel, `h ${me} ${beat}`).catch((error: unknown) => report('l1.heartbeat', error));
  if (sentAt.size > 1000) sentAt.clear(); // heartbeats that never came back (Redis away)
}, heartbeatMs);

async function announce(n: number, drop: Drop) {
  const id = `r:${me}:${++dropCount}`;
  let done!: () => void;
  const applied = new Promise<void>((resolve) => (done = resolve));
  const now = performance.now();
  const expected = new Set([...members].filter(([, seen]) => now - seen < staleMs).map(([member]) => member));
  for (const [member, seen] of members) if (now - seen >= 10 * staleMs) members.delete(member);
  // Not listening for `staleMs` yet (just started, or back after a loss): an instance whose
  // heartbeats it has not heard yet may still be serving locally, so the wait is the whole bound.
  const settled = performance.now() - subscribedAt >= staleMs;
  const waiting: Pending = { expected, acknowledged: new Set(), counted: Infinity, settled, done };
  pending.set(id, waiting);
  try {
    waiting.counted = await publisher.publish(channel, `d ${id} ${JSON.stringify(drop)}`);
  } catch (error) {
    pending.delete(id);
    post({ type: 'failed', id: n, message: error instanceof Error ? error.message : String(error) });
    return;
  }
  // From when Redis had it: an instance that does not acknowledge has stopped serving locally
  // `staleMs` after that (its heartbeats sent since come back after this drop).
  const timer = setTimeout(done, staleMs);
  if (settled && complete(waiting)) done();
  await applied;
  clearTimeout(timer);
  pending.delete(id);
  post({ type: 'announced', id: n, ms: performance.now() - now, acknowledged: complete(waiting) });
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'announce') void announce(message.id, message.drop);
  else if (message.type === 'close') {
    closed = true;
    clearInterval(heartbeat);
    subscriber.disconnect();
    publisher.disconnect();
    port.close();
  }
});
