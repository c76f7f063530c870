/**
 * The top-level folders form layers: no folder imports one that imports it back, directly or
 * through others (today functions ← lib ← local ← cli, and nothing imports test/). Read from
 * the import lines of every .ts file, `#commons/…` counted as functions/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const SKIPPED = new Set(['node_modules', 'cdk.out', '.git', 'coverage']);
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|\bjest\.mock\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

type Edges = Map<string, Map<string, string>>; // folder → imported folder → one file that imports it

function* typeScriptFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* typeScriptFiles(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

const topFolder = (file: string): string => path.relative(ROOT, file).split(path.sep)[0];

/** Which top-level folder each file's imports reach, other than its own. */
function folderEdges(): Edges {
  const edges: Edges = new Map();
  for (const file of typeScriptFiles(ROOT)) {
    const from = topFolder(file);
    if (!file.slice(ROOT.length + 1).includes(path.sep)) continue; // files at the root are not a layer
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const to = specifier.startsWith('#commons/')
        ? 'functions'
        : specifier.startsWith('.')
          ? topFolder(path.resolve(path.dirname(file), specifier))
          : undefined;
      if (!to || to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      if (!edges.get(from)!.has(to)) edges.get(from)!.set(to, path.relative(ROOT, file));
    }
  }
  return edges;
}

/** Each cycle once, as the folders along it, found by a depth-first walk from every folder. */
function folderCycles(edges: Edges): string[][] {
  const cycles = new Map<string, string[]>();
  const walk = (folder: string, trail: string[]) => {
    const at = trail.indexOf(folder);
    if (at >= 0) {
      const cycle = trail.slice(at);
      const name = [...cycle].sort().join(' ');
      if (!cycles.has(name)) cycles.set(name, [...cycle, folder]);
      return;
    }
    for (const next of edges.get(folder)?.keys() ?? []) walk(next, [...trail, folder]);
  };
  for (const folder of edges.keys()) walk(folder, []);
  return [...cycles.values()];
}

test('the cycle finder names a cycle through several folders and passes a layering', () => {
  const layered: Edges = new Map([
    ['cli', new Map([['lib', 'cli/a.ts']])],
    ['lib', new Map([['functions', 'lib/b.ts']])],
  ]);
  const cyclic: Edges = new Map([...layered, ['functions', new Map([['cli', 'functions/c.ts']])]]);

  expect(folderCycles(layered)).toEqual([]);
  expect(folderCycles(cyclic)).toEqual([['cli', 'lib', 'functions', 'cli']]);
});

test('no top-level folder imports one that imports it back', () => {
  const edges = folderEdges();

  const explained = folderCycles(edges).map((cycle) =>
    cycle
      .slice(1)
      .map((to, i) => `${cycle[i]} → ${to} (${edges.get(cycle[i])!.get(to)})`)
      .join(', '),
  );

  expect(explained).toEqual([]);
  // The walk did read the tree: the CLI and the console both sit on the library.
  expect(edges.get('cli')?.has('lib')).toBe(true);
  expect(edges.get('local')?.has('lib')).toBe(true);
});
