/**
 * ioredis' Cluster, with Lua scripts (defineCommand) that auto-pipeline correctly.
 *
 * ioredis (5.11) files an auto-pipelined command under the node of its first key, which it finds
 * from the command table; a script defined with defineCommand is not in that table, so it is filed
 * under its first argument, the number of keys. Script calls for different nodes then share one
 * pipeline, and the whole pipeline fails ("All keys in the pipeline should belong to the same slots
 * allocation group"). Here a defined script is sent as EVALSHA, which ioredis files by its real first
 * key, so concurrent script calls still go out as one write per node. As ioredis does per
 * connection, the first call on a node is an EVAL (which loads the script there): no NOSCRIPT round
 * trip, except after a failover (the new master does not know the script yet; EVAL follows).
 * (`callBuffer` cannot be used: auto-pipelined, it drops the command name.)
 */
import { createHash } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';

type Arg = string | Buffer | number;
type Definition = { lua: string; numberOfKeys?: number; readOnly?: boolean };
type Send = (...args: Arg[]) => Promise<unknown>;

const noScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT');

export class ScriptingCluster extends Cluster {
  override defineCommand(name: string, definition: Definition): void {
    super.defineCommand(name, definition);
    if (!this.options.enableAutoPipelining) return; // without auto-pipelining ioredis routes scripts by their keys
    const script = {
      ...definition,
      sha: createHash('sha1').update(definition.lua).digest('hex'),
      on: new Set<string>(),
    };
    sendAsEvalsha(this, name, script, builtin(this, 'evalsha'), builtin(this, 'eval'));
    sendAsEvalsha(this, `${name}Buffer`, script, builtin(this, 'evalshaBuffer'), builtin(this, 'evalBuffer'));
  }
}

/** A builtin command method of the client (ioredis makes `<command>Buffer` for every command; untyped). */
function builtin(cluster: Cluster, method: string): Send {
  const fn: unknown = Reflect.get(cluster, method);
  if (typeof fn !== 'function') throw new Error(`ioredis has no ${method}`);
  return (...args) => {
    const out: unknown = Reflect.apply(fn, cluster, args);
    return Promise.resolve(out);
  };
}

/**
 * Replaces `cluster[method]` (as defineCommand made it): EVAL on a node not known to hold the script
 * (`script.on`: the nodes it was run on), EVALSHA after, EVAL again on NOSCRIPT.
 */
function sendAsEvalsha(
  cluster: Cluster,
  method: string,
  script: Definition & { sha: string; on: Set<string> },
  evalsha: Send,
  evalLua: Send,
) {
  const original: unknown = Reflect.get(cluster, method);
  const { lua, sha, numberOfKeys, on } = script;
  Reflect.set(cluster, method, function (this: unknown, ...args: Arg[]) {
    // Explicit pipelines copy the client's script methods: they keep ioredis' own.
    if (this !== cluster && typeof original === 'function') return original.apply(this, args);
    const full: Arg[] = typeof numberOfKeys === 'number' ? [numberOfKeys, ...args] : args;
    const firstKey = Number(full[0]) > 0 ? full[1] : undefined;
    const node =
      firstKey === undefined
        ? undefined
        : cluster.slots[calculateSlot(typeof firstKey === 'number' ? String(firstKey) : firstKey)]?.[0];
    const load = async () => {
      const out = await evalLua(lua, ...full);
      if (node) on.add(node);
      return out;
    };
    if (!node || !on.has(node)) return load();
    return evalsha(sha, ...full).catch((error: unknown) => {
      if (!noScript(error)) throw error;
      on.delete(node);
      return load();
    });
  });
}
