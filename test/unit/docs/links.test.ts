/**
 * The docs name only what exists: in README.md, CHANGELOG.md, bench/README.md and docs/*.md, every
 * relative link must reach a file, every #anchor a heading of its page, and every backticked
 * repository path a file of the repository. A moved or renamed file fails here, not in a reader's hands.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..', '..');

/** What a backticked word must end with to be taken for a file path. */
const FILE_EXTENSION = /(^|\/)[^/.][^/]*\.(ts|js|cjs|mjs|json|md|svg|yml|yaml|sh|html|css|txt)$/;
/** Placeholders, URLs and shell variables are not repository paths. */
const NOT_A_PATH = /[<>*{}$…[\]]|:\/\//;

function documents(): string[] {
  const pages = readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', 'CHANGELOG.md', 'bench/README.md', ...pages];
}

interface Parsed {
  /** Lines outside fenced code blocks, inline code removed. */
  prose: string[];
  /** Inline code spans outside fenced code blocks. */
  inlineCode: string[];
  /** Lines inside fenced code blocks. */
  fenced: string[];
}

function parse(markdown: string): Parsed {
  const parsed: Parsed = { prose: [], inlineCode: [], fenced: [] };
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      parsed.fenced.push(line);
      continue;
    }
    for (const match of line.matchAll(/`([^`]+)`/g)) parsed.inlineCode.push(match[1]);
    parsed.prose.push(line.replace(/`[^`]*`/g, ''));
  }
  return parsed;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of headingLines(markdown)) {
    const text = line
      .replace(/^#{1,6}\s+/, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .trim();
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Heading lines outside fenced code blocks, inline code kept (its text is part of the anchor). */
function headingLines(markdown: string): string[] {
  const headings: string[] = [];
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    else if (!inFence && /^#{1,6}\s/.test(line)) headings.push(line);
  }
  return headings;
}

/** Link targets of `[x](target)`, `![x](target)` and `[x]: target`, outside code. */
function linkTargets(prose: string[]): string[] {
  const targets: string[] = [];
  for (const line of prose) {
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]);
    const reference = /^\s*\[[^\]]+\]:\s+<?(\S+?)>?(\s|$)/.exec(line);
    if (reference) targets.push(reference[1]);
  }
  return targets;
}

/** Problems with one link: a missing file, or an anchor that is no heading of its page. */
function checkLink(document: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined;
  const [linkPath, anchor] = target.split('#', 2) as [string, string | undefined];
  const file = linkPath === '' ? path.join(root, document) : path.resolve(root, path.dirname(document), linkPath);
  if (!file.startsWith(root)) return `link ${target}: points outside the repository`;
  if (!existsSync(file)) return `link ${target}: no such file ${path.relative(root, file)}`;
  if (anchor === undefined) return undefined;
  if (!file.endsWith('.md')) return `link ${target}: an anchor into a file that is not markdown`;
  const anchors = anchorsOf(readFileSync(file, 'utf8'));
  if (!anchors.has(anchor)) {
    return `link ${target}: no heading "#${anchor}" in ${path.relative(root, file)} (its anchors: ${[...anchors].join(', ')})`;
  }
  return undefined;
}

/** Words (or the values of KEY=VALUE words) that name a repository file: a name with a file extension. */
function pathWords(text: string, requireFolder: boolean): string[] {
  return text
    .split(/[\s=]+/)
    .map((word) => word.replace(/^[("']+|[)"',.:;!?]+$/g, '').replace(/^\.\//, ''))
    .filter((word) => word !== '' && !NOT_A_PATH.test(word) && !word.startsWith('/') && FILE_EXTENSION.test(word))
    .filter((word) => !requireFolder || word.includes('/'));
}

function problemsOf(document: string): string[] {
  const parsed = parse(readFileSync(path.join(root, document), 'utf8'));
  const problems: string[] = [];
  for (const target of linkTargets(parsed.prose)) {
    const problem = checkLink(document, target);
    if (problem) problems.push(`${document}: ${problem}`);
  }
  // A backticked file name stands for a repository path; in code blocks only words with a folder do.
  const named = [
    ...parsed.inlineCode.flatMap((code) => pathWords(code, false)),
    ...parsed.fenced.flatMap((line) => pathWords(line, true)),
  ];
  for (const word of new Set(named)) {
    if (!existsSync(path.join(root, word))) problems.push(`${document}: \`${word}\` is not a file of the repository`);
  }
  return problems;
}

describe('the docs name only what exists', () => {
  it('reads the README, the changelog, the benchmarks page and the docs pages', () => {
    const found = documents();

    expect(found).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'bench/README.md']));
    expect(found.filter((document) => document.startsWith('docs/')).length).toBeGreaterThan(0);
  });

  it.each(documents())('%s: every relative link, anchor and backticked path exists', (document) => {
    const problems = problemsOf(document);

    expect(problems).toEqual([]);
  });
});
