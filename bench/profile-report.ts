/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and tells where the time went: by layer (our folders
 * under src/, each dependency, node core, GC), the functions with the most self time, and our own
 * functions by inclusive time (what they and everything they call cost). The raw .cpuprofile stays
 * next to the report: open it in Chrome DevTools (Performance) or speedscope for the flame graph.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const callFrame = z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() });
const profileNode = z.object({ id: z.number(), callFrame, children: z.array(z.number()).optional() });
const cpuProfile = z.object({
  nodes: z.array(profileNode),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type CallFrame = z.infer<typeof callFrame>;
type ProfileNode = z.infer<typeof profileNode>;
export type CpuProfile = z.infer<typeof cpuProfile>;

export type Row = { name: string; ms: number; share: number };
export type ProfileSummary = {
  /** Wall time the profile covers, and how much of it the process was not idle. */
  totalMs: number;
  busyMs: number;
  layers: Row[];
  selfTop: Row[];
  oursInclusive: Row[];
};

export function readProfile(file: string): CpuProfile {
  return cpuProfile.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** The layer a frame belongs to: a folder of ours, a package, node core, or V8's own entries. */
export function layerOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) {
    const parts = url.slice(src + 1).split('/');
    return `ours: ${parts.length > 2 ? parts.slice(0, parts.length - 1).join('/') : parts.join('/')}`;
  }
  return url;
}

const nameOf = (frame: CallFrame) => {
  const file = frame.url.includes('/node_modules/')
    ? frame.url.slice(frame.url.lastIndexOf('/node_modules/') + 14)
    : frame.url.replace(/^.*\/(src|dist)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
};

export function summarise(profile: CpuProfile, top = 30): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)');
  const busyMs = totalMs - idle.reduce((a, [, ms]) => a + ms, 0);

  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  const layers = new Map<string, number>();
  const selfByName = new Map<string, number>();
  for (const [id, ms] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    add(layers, layerOf(frame), ms);
    add(selfByName, nameOf(frame), ms);
  }

  // Inclusive time of our own functions: each sample counts once per function on its stack.
  const inclusive = new Map<string, number>();
  const root = profile.nodes[0];
  const onStack = new Map<string, number>();
  const walk = (node: ProfileNode) => {
    const mine = layerOf(node.callFrame).startsWith('ours: ') ? nameOf(node.callFrame) : null;
    if (mine) onStack.set(mine, (onStack.get(mine) ?? 0) + 1);
    const ms = self.get(node.id) ?? 0;
    if (ms) for (const name of onStack.keys()) add(inclusive, name, ms);
    for (const child of node.children ?? []) walk(byId.get(child)!);
    if (mine) {
      const depth = onStack.get(mine)! - 1;
      if (depth) onStack.set(mine, depth);
      else onStack.delete(mine);
    }
  };
  if (root) walk(root);

  const rows = (map: Map<string, number>, n: number): Row[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms, share: busyMs ? ms / busyMs : 0 }));
  return {
    totalMs,
    busyMs,
    layers: rows(layers, 40),
    selfTop: rows(selfByName, top),
    oursInclusive: rows(inclusive, top),
  };
}

export function renderSummary(title: string, lines: readonly string[], s: ProfileSummary): string {
  const table = (head: string, rows: readonly Row[]) => [
    `| ${head} | ms | share of busy |`,
    '| --- | ---: | ---: |',
    ...rows.map(
      (r) => `| \`${r.name.replace(/\|/g, '\\|')}\` | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)} % |`,
    ),
  ];
  return [
    `# ${title}`,
    '',
    ...lines,
    `- Profile: ${(s.totalMs / 1000).toFixed(1)} s, of which the process was busy ${(s.busyMs / 1000).toFixed(1)} s.`,
    '',
    '## By layer (self time)',
    '',
    ...table('layer', s.layers),
    '',
    '## Functions by self time',
    '',
    ...table('function', s.selfTop),
    '',
    '## Our functions by inclusive time (they and what they call)',
    '',
    ...table('function', s.oursInclusive),
    '',
  ].join('\n');
}
