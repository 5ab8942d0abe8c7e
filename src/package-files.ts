// The package's own files and where they are. The built-in rule pack (rules/, its lists), the rule index
// (dist/builtin-rules.json), the rule worker and sql.js's wasm sit beside the code in the npm install; in the
// single executable (docs/single-executable.md) they are embedded in the binary as SEA assets and read from
// memory, never extracted. Every lookup of a package file goes through the fs-like functions here, in both
// builds: a path under PACKAGE_ROOT is answered from the embedded files when there are any, every other path
// (and every path in the npm install) from the disk, with node:fs's own errors (ENOENT, ENOTDIR).
import * as fs from 'node:fs';
import {dirname, join, relative, sep} from 'node:path';

/** The embedded package files (SEA asset `package-files.json`, written by scripts/build-binary.ts). */
export interface EmbeddedPackageFiles {
  /** By path relative to the package root, `/`-separated: the file's text and its modification time. */
  readonly files: Readonly<Record<string, {readonly text: string; readonly mtimeMs: number}>>;
}

/** The part of `node:sea` this module uses (Node ≥ 20.12). */
interface SeaModule {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
  getAsset(key: string, encoding: string): string;
}

/**
 * The single executable's entry (scripts/build-binary.ts) puts `node:sea` here before any module of the tool
 * runs: the npm install never imports `node:sea`, which Node 20 before 20.12 does not have.
 */
export const SEA_GLOBAL = Symbol.for('daemoneye.sea');

function seaModule(): SeaModule | undefined {
  const sea = (globalThis as Record<symbol, unknown>)[SEA_GLOBAL] as SeaModule | undefined;
  return sea?.isSea() === true ? sea : undefined;
}

const SEA = seaModule();

/** True in the single executable, false in the npm install. */
export const IS_SINGLE_EXECUTABLE = SEA !== undefined;

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as {name?: string};
      if (pkg.name === 'daemoneye') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json of daemoneye not found');
    dir = parent;
  }
}

/**
 * Where the package's files are: the directory of package.json in the npm install (wherever the code runs
 * from: src/ or dist/src/); the executable itself in the single executable, so a built-in rule reads as
 * `/opt/daemoneye-linux-x64/rules/…` — a path no disk can hold (a file is no directory), only the binary.
 */
export const PACKAGE_ROOT: string = SEA === undefined ? findPackageRoot(import.meta.dirname) : process.execPath;

let embeddedMemo: Map<string, {text: string; mtimeMs: number}> | undefined;
let embeddedDirs: Set<string> | undefined;

function embedded(): Map<string, {text: string; mtimeMs: number}> {
  if (embeddedMemo === undefined) {
    const parsed = SEA === undefined ? {files: {}} : (JSON.parse(SEA.getAsset('package-files.json', 'utf8')) as EmbeddedPackageFiles);
    embeddedMemo = new Map(Object.entries(parsed.files).map(([key, value]) => [key, {text: value.text, mtimeMs: value.mtimeMs}]));
    embeddedDirs = new Set(['']);
    for (const key of embeddedMemo.keys()) {
      const parts = key.split('/');
      for (let i = 1; i < parts.length; i++) embeddedDirs.add(parts.slice(0, i).join('/'));
    }
  }
  return embeddedMemo;
}

/** `path` relative to the package root (`/`-separated) when it names an embedded path, else undefined (the disk). */
function embeddedKey(path: string): string | undefined {
  if (SEA === undefined) return undefined;
  if (path === PACKAGE_ROOT) return '';
  const rel = relative(PACKAGE_ROOT, path);
  if (rel.startsWith('..') || rel.startsWith(sep) || rel === path) return undefined;
  return rel.split(sep).join('/');
}

function noEntry(path: string, syscall: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`ENOENT: no such file or directory, ${syscall} '${path}'`);
  error.code = 'ENOENT';
  error.syscall = syscall;
  error.path = path;
  return error;
}

function kindOf(key: string): 'file' | 'directory' | undefined {
  const files = embedded();
  if (files.has(key)) return 'file';
  return embeddedDirs?.has(key) === true ? 'directory' : undefined;
}

/** Like node:fs readFileSync (a path, optionally 'utf8'); embedded package files from memory. */
export function readFileSync(path: string): Buffer;
export function readFileSync(path: string, encoding: 'utf8'): string;
export function readFileSync(path: string, encoding?: 'utf8'): string | Buffer {
  const key = embeddedKey(path);
  if (key === undefined) return encoding === undefined ? fs.readFileSync(path) : fs.readFileSync(path, encoding);
  const entry = embedded().get(key);
  if (entry === undefined) throw noEntry(path, 'open');
  return encoding === undefined ? Buffer.from(entry.text, 'utf8') : entry.text;
}

/** True when `path` is a file embedded in the single executable: the package's own, read from memory. */
export function isEmbeddedFile(path: string): boolean {
  const key = embeddedKey(path);
  return key !== undefined && embedded().has(key);
}

/** Like node:fs existsSync. */
export function existsSync(path: string): boolean {
  const key = embeddedKey(path);
  return key === undefined ? fs.existsSync(path) : kindOf(key) !== undefined;
}

/** The parts of fs.Stats the tool reads. */
export interface PackageFileStats {
  isFile(): boolean;
  isDirectory(): boolean;
  readonly mtimeMs: number;
  readonly size: number;
}

/** Like node:fs statSync (follows symbolic links); embedded directories have mtime 0. */
export function statSync(path: string): PackageFileStats {
  const key = embeddedKey(path);
  if (key === undefined) return fs.statSync(path);
  const kind = kindOf(key);
  if (kind === undefined) throw noEntry(path, 'stat');
  const entry = embedded().get(key);
  return {
    isFile: () => kind === 'file',
    isDirectory: () => kind === 'directory',
    mtimeMs: entry?.mtimeMs ?? 0,
    size: entry === undefined ? 0 : Buffer.byteLength(entry.text),
  };
}

/** A directory entry: its name and whether it is a directory (as fs.Dirent). */
export interface PackageDirent {
  readonly name: string;
  isDirectory(): boolean;
  isFile(): boolean;
}

/** Like node:fs readdirSync: names, or entries with `{withFileTypes: true}` (unsorted, as the disk's). */
export function readdirSync(path: string): string[];
export function readdirSync(path: string, options: {withFileTypes: true}): PackageDirent[];
export function readdirSync(path: string, options?: {withFileTypes: true}): string[] | PackageDirent[] {
  const key = embeddedKey(path);
  if (key === undefined) return options === undefined ? fs.readdirSync(path) : fs.readdirSync(path, options);
  const kind = kindOf(key);
  if (kind === undefined) throw noEntry(path, 'scandir');
  if (kind === 'file') {
    const error: NodeJS.ErrnoException = new Error(`ENOTDIR: not a directory, scandir '${path}'`);
    error.code = 'ENOTDIR';
    throw error;
  }
  const prefix = key === '' ? '' : `${key}/`;
  const children = new Map<string, boolean>();
  for (const candidate of [...embedded().keys(), ...(embeddedDirs ?? [])]) {
    if (!candidate.startsWith(prefix) || candidate === key) continue;
    const rest = candidate.slice(prefix.length);
    const name = rest.split('/')[0] as string;
    children.set(name, (children.get(name) ?? false) || rest.includes('/') || embeddedDirs?.has(candidate) === true);
  }
  if (options === undefined) return [...children.keys()];
  return [...children].map(([name, isDir]) => ({name, isDirectory: () => isDir, isFile: () => !isDir}));
}

/**
 * A binary asset of the single executable (the wasm, the bundled rule worker) by name, or undefined in the
 * npm install (the caller then uses the file on disk).
 */
export function embeddedAsset(name: string): ArrayBuffer | undefined {
  return SEA?.getAsset(name);
}
