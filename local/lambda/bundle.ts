/**
 * A handler as Lambda runs it: one esbuild bundle with the deployed stack's options
 * (infra/handler-bundle.ts), which the local function instances load with plain Node. Loading
 * one file is a cold start of a few hundred milliseconds, where transpiling the handler and the
 * SDK's hundreds of modules on the fly cost seconds of CPU per instance. A bundle is kept in
 * node_modules/.cache and built again only when one of its source files changed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HANDLER_BUNDLE } from '../../infra/handler-bundle';

const REPO_ROOT = path.join(__dirname, '..', '..');
const CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'swarmcast-bundles');

interface BundleRecord {
  /** What the bundle was built from: the entry, the options and esbuild's version. */
  key: string;
  /** When the build started (ms): a source changed after it makes the bundle stale. */
  builtAt: number;
  /** Every input file, absolute. */
  inputs: string[];
}

/** One build at a time per entry within this process; other processes race safely (atomic rename). */
const building = new Map<string, Promise<string>>();

/** The bundle of `entryFile` (absolute path of a .ts/.js handler), built if missing or stale; returns its path. */
export function bundleHandler(entryFile: string): Promise<string> {
  let bundle = building.get(entryFile);
  if (!bundle) {
    bundle = bundleIfStale(entryFile);
    building.set(entryFile, bundle);
    bundle.catch(() => building.delete(entryFile));
  }
  return bundle;
}

async function bundleIfStale(entryFile: string): Promise<string> {
  const esbuild = await import('esbuild');
  const key = JSON.stringify({ entryFile, HANDLER_BUNDLE, esbuild: esbuild.version });
  const name = `${path.basename(entryFile).replace(/\.[cm]?[jt]s$/, '')}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
  const outfile = path.join(CACHE_DIR, `${name}.cjs`);
  const recordFile = path.join(CACHE_DIR, `${name}.json`);
  if (await isFresh(recordFile, key)) return outfile;

  await mkdir(CACHE_DIR, { recursive: true });
  const builtAt = Date.now();
  const temporary = `${outfile}.${process.pid}.tmp`;
  const result = await esbuild.build({
    entryPoints: [entryFile],
    outfile: temporary,
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'node',
    target: HANDLER_BUNDLE.target,
    format: HANDLER_BUNDLE.format,
    minify: HANDLER_BUNDLE.minify,
    keepNames: HANDLER_BUNDLE.keepNames,
    sourcemap: HANDLER_BUNDLE.sourceMap ? 'inline' : false,
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
  });
  const record: BundleRecord = {
    key,
    builtAt,
    inputs: Object.keys(result.metafile.inputs).map((input) => path.resolve(REPO_ROOT, input)),
  };
  await rename(temporary, outfile);
  await writeFile(`${recordFile}.${process.pid}.tmp`, JSON.stringify(record));
  await rename(`${recordFile}.${process.pid}.tmp`, recordFile);
  return outfile;
}

/** The bundle exists and none of its inputs changed since it was built. */
async function isFresh(recordFile: string, key: string): Promise<boolean> {
  try {
    const record = JSON.parse(await readFile(recordFile, 'utf8')) as BundleRecord;
    if (record.key !== key) return false;
    const changed = await Promise.all(
      record.inputs.map(async (input) => (await stat(input)).mtimeMs >= record.builtAt),
    );
    return !changed.includes(true);
  } catch {
    return false;
  }
}
