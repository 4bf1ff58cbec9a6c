import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

// `node --import tsx bench/cpu-prof-top.ts <file.cpuprofile> [n]`: self time of a V8 CPU profile by
// function and by package, to rank a row's hot spots (bench/cpu-prof-hook.mjs writes the profile).

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The package (or project folder) a script URL belongs to. */
export const moduleOf = (url: string): string => {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const m = /\/main\/([^/]+\/[^/]+)/.exec(url);
  return m?.[1] ?? url;
};

const maps = new Map<string, SourceMap | undefined>();
/** The source map beside a bundled script, if there is one. */
const mapOf = (url: string): SourceMap | undefined => {
  if (!maps.has(url)) {
    const file = url.startsWith('file://') ? `${fileURLToPath(url)}.map` : undefined;
    maps.set(
      url,
      file && existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : undefined,
    );
  }
  return maps.get(url);
};

/** A call frame through its script's source map (original file, line and name), else as it is. */
const original = (c: Node['callFrame']): Node['callFrame'] => {
  const map = c.url && c.lineNumber >= 0 ? mapOf(c.url) : undefined;
  const entry = map?.findEntry(c.lineNumber, c.columnNumber) as
    | { originalSource?: string; originalLine?: number; name?: string }
    | undefined;
  if (!entry?.originalSource) return c;
  return {
    functionName: entry.name ?? c.functionName,
    url: entry.originalSource,
    lineNumber: entry.originalLine ?? 0,
    columnNumber: 0,
  };
};

const main = () => {
  const [file, n = '25'] = process.argv.slice(2);
  const profile = JSON.parse(readFileSync(file as string, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries())
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  for (const [id, us] of self) {
    const c = original((byId.get(id) as Node).callFrame);
    const key = `${c.functionName || '(anonymous)'} ${c.url.replace(/.*node_modules\//, '').replace(/.*\/main\//, '')}:${c.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    mod.set(moduleOf(c.url), (mod.get(moduleOf(c.url)) ?? 0) + us);
  }
  const show = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms)`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(n)))
      console.log(
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`,
      );
  };
  show('self time by package', mod);
  show('self time by function', fn);
};

if (process.argv[1]?.endsWith('cpu-prof-top.ts')) main();
