// The npm install's fast start: bin/run.js runs the whole CLI from one bundled script, dist/daemoneye.cjs
// (written by `npm run build`: scripts/bundle.ts), compiled with V8's code cache, dist/daemoneye.cjs.v8cache,
// when they are there. Node 20 has no compile cache for modules, and loading the ≈ 280 modules of a live detect
// one by one (resolving, reading, compiling and linking each) was most of its start-up (docs/performance.md,
// "Start-up"). Only a script compiled through node:vm can take V8's cached data, so the bundle is a CommonJS
// script run here, the same code as dist/ (the same modules, imported as lazily: a command's modules when it
// runs), and every `import.meta` in it answers as in the file it came from.
//
// The cache file is V8's cached data behind a header: a magic, the SHA-256 of the bundle it was made from and
// the SHA-256 of the data. It is used only when:
//   - it was made from this very bundle (V8 itself checks only its own version, its flags and the source's
//     length, so a rebuilt bundle of the same length would otherwise run the old code), and its data is whole
//     (V8 does not checksum cached data in a release build);
//   - it is a regular file (not a symlink), owned by root or by this user and writable by no one else, in a
//     directory with the same owners and no write access for others: cached data is code, never read from a
//     place another user could have written it;
//   - V8 accepts it (same V8, same flags).
// Otherwise the bundle is compiled from its source, and a fresh cache is written (atomically: a temporary file
// renamed over it) when the directory passes the same check and this user may write it; any failure to write
// is ignored. A cache V8 refused is kept when this process runs with options of its own (`node --flag bin/run.js`,
// NODE_OPTIONS): V8 refuses it for those flags, and the build's cache (trained on every command) stays right for
// the plain runs; a plain run whose V8 refuses it (another Node) replaces it. No bundle at all, or, in a source checkout (tsconfig.json beside dist/), one older than this module
// (dist/ recompiled by tsc alone after the last `npm run build`, so the bundle holds old code): bin/run.js loads
// dist/'s modules as before. (An npm install has no tsconfig.json, and its files' times are when npm wrote them.)
import {createHash} from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {constants as vmConstants, Script} from 'node:vm';

/** dist/daemoneye.cjs beside this module's dist/commands/_base/. */
export const BUNDLE_FILE = join(import.meta.dirname, '..', '..', 'daemoneye.cjs');

/** The cache of `bundle`: the same name with `.v8cache`. */
export const cacheFileOf = (bundle: string): string => `${bundle}.v8cache`;

const MAGIC = Buffer.from('DEV8CC01', 'latin1');
const HEADER_BYTES = MAGIC.length + 64;

/**
 * What became of the code cache: used (`accepted`); none there (`absent`); made from another bundle or damaged
 * (`invalid`); refused by V8 (`rejected`: another Node or other V8 flags); not trusted (`untrusted`: its or its
 * directory's owner or permissions, or a symlink).
 */
export type CacheStatus = 'accepted' | 'absent' | 'invalid' | 'rejected' | 'untrusted';

/** The bundle's exports (scripts/bundle.ts writes its entry). */
interface BundleExports {
  run(argv: readonly string[]): Promise<void>;
  loadEveryCommand(): Promise<number>;
}

/** A loaded bundle: its exports, what became of its cache, and whether a new cache was written. */
export interface LoadedBundle extends BundleExports {
  readonly cache: CacheStatus;
  readonly cacheWritten: boolean;
}

/** Owned by root or by `uid`, and writable by neither its group nor others. */
function trustedOwner(stats: Stats, uid: number): boolean {
  return (stats.uid === 0 || stats.uid === uid) && (stats.mode & 0o022) === 0;
}

/** The cache file's bytes if it and its directory may be trusted (undefined: absent), or 'untrusted'. */
function readTrustedCache(file: string, uid: number): Buffer | 'untrusted' | undefined {
  let fd: number;
  try {
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : 'untrusted';
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || !trustedOwner(stats, uid) || !trustedOwner(statSync(dirname(file)), uid)) return 'untrusted';
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether a cache may be written into `dir`: a directory owned by root or this user that no one else may write. */
function writableTrustedDir(dir: string, uid: number): boolean {
  try {
    const stats = statSync(dir);
    return stats.isDirectory() && trustedOwner(stats, uid);
  } catch {
    return false;
  }
}

/**
 * Write `data` (V8's cached data of the bundle whose SHA-256 is `digest`) to `file` atomically: a new temporary
 * file beside it (created exclusively, mode 0644), renamed over it. Returns false, leaving nothing behind, on any
 * failure (a read-only or full disk, no permission).
 */
function writeCache(file: string, digest: Buffer, data: Buffer): boolean {
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat([MAGIC, digest, sha256(data), data]), {flag: 'wx', mode: 0o644});
    renameSync(temporary, file);
    return true;
  } catch {
    rmSync(temporary, {force: true});
    return false;
  }
}

/** What the bundle's text is wrapped in to compile (a CommonJS module's function): source positions in the script are the text's plus its length. */
export const BUNDLE_WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {';

/** The bundle's text compiled as a CommonJS module's function (with V8's cached data when given). */
function compile(bytes: Buffer, file: string, cachedData?: Buffer): Script {
  return new Script(`${BUNDLE_WRAPPER_START}${bytes.toString('utf8')}\n})`, {
    filename: file,
    cachedData,
    // A dynamic import() left in the bundle (of a file outside it) goes through Node's own loader.
    importModuleDynamically: vmConstants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

/** V8's cached data in `stored` if its header names the bundle whose SHA-256 is `digest` and its data is whole. */
function cachedDataOf(stored: Buffer, digest: Buffer): Buffer | undefined {
  if (stored.length <= HEADER_BYTES || !stored.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  if (!stored.subarray(MAGIC.length, MAGIC.length + 32).equals(digest)) return undefined;
  const data = stored.subarray(HEADER_BYTES);
  return stored.subarray(MAGIC.length + 32, HEADER_BYTES).equals(sha256(data)) ? data : undefined;
}

/**
 * Whether this Node was started with options of its own (they may change V8's flags, which V8's cached data is
 * made for): in NODE_OPTIONS or on its command line, other than the script given by `-e`/`-p` (process.execArgv
 * holds those too).
 */
function runsWithOwnOptions(): boolean {
  if ((process.env.NODE_OPTIONS ?? '').trim() !== '') return true;
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    if (['-e', '--eval', '-p', '--print'].includes(args[i] ?? '')) i++;
    else return true;
  }
  return false;
}

/** Run the bundle's compiled script as CommonJS; its exports. */
function evaluate(script: Script, file: string): BundleExports {
  const module = {exports: {} as BundleExports};
  const wrapper = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/**
 * Load the bundle `file` (default dist/daemoneye.cjs) with its code cache when that is valid (see the header);
 * returns undefined when there is no bundle, or in a source checkout one older than this module. `writeCacheIfMissing` (default true) writes a new cache when none
 * was used and its directory allows. Throws what the bundle's own top level throws.
 */
export function loadBundle(file: string = BUNDLE_FILE, options: {writeCacheIfMissing?: boolean} = {}): LoadedBundle | undefined {
  let bytes: Buffer;
  try {
    // tsc rewrites every file of dist/, this one included; `npm run build` writes the bundle after it.
    if (existsSync(join(dirname(file), '..', 'tsconfig.json')) && statSync(file).mtimeMs < statSync(import.meta.filename).mtimeMs) return undefined;
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  const cacheFile = cacheFileOf(file);
  const uid = process.geteuid?.() ?? -1;
  const digest = sha256(bytes);
  const stored = uid < 0 ? 'untrusted' : readTrustedCache(cacheFile, uid);
  const cachedData = Buffer.isBuffer(stored) ? cachedDataOf(stored, digest) : undefined;
  let cache: CacheStatus = stored === undefined ? 'absent' : stored === 'untrusted' ? 'untrusted' : cachedData === undefined ? 'invalid' : 'accepted';
  const script = compile(bytes, file, cachedData);
  if (cache === 'accepted' && script.cachedDataRejected === true) cache = 'rejected';
  const exports = evaluate(script, file);
  let cacheWritten = false;
  const replaceable = cache !== 'accepted' && !(cache === 'rejected' && runsWithOwnOptions());
  if (replaceable && options.writeCacheIfMissing !== false && writableTrustedDir(dirname(cacheFile), uid)) {
    // After the bundle's top level ran: the cache then holds oclif's and the start-up's compiled code.
    cacheWritten = writeCache(cacheFile, digest, script.createCachedData());
  }
  return {run: (argv) => exports.run(argv), loadEveryCommand: () => exports.loadEveryCommand(), cache, cacheWritten};
}

/**
 * Build time (`npm run build`): write the bundle's code cache after importing every command's modules, so the
 * cache holds the compiled top level of every module a command imports. Returns the number of commands loaded.
 * Throws when there is no bundle, a command's module fails to load, or the cache cannot be written.
 */
export async function writeBundleCache(file: string = BUNDLE_FILE): Promise<number> {
  const bytes = readFileSync(file);
  const script = compile(bytes, file);
  const loaded = await evaluate(script, file).loadEveryCommand();
  if (!writeCache(cacheFileOf(file), sha256(bytes), script.createCachedData())) throw new Error(`could not write ${cacheFileOf(file)}`);
  return loaded;
}
