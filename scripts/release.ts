// `npm run release -- --key PRIVATE_KEY`: the release artefact daemoneye-<version>-linux-x64.tar.gz
// (docs/single-executable.md). It holds the single executable, SHA256SUMS (its SHA-256, as `sha256sum`
// writes) and SHA256SUMS.sig, a raw detached Ed25519 signature of SHA256SUMS made by the freshly built binary's
// own `sign` command: checked with `daemoneye verify SHA256SUMS -s SHA256SUMS.sig --public-key KEY` or with
// OpenSSL (`openssl pkeyutl -verify -pubin -inkey KEY -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig`).
// Usage: tsx scripts/release.ts --key PRIVATE_KEY [--out DIR] [--binary EXISTING_BINARY]
import {execFileSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {basename, join, resolve} from 'node:path';
import {parseArgs} from 'node:util';

import {create as createTar} from 'tar';

import {BINARY_NAME, buildBinary} from './build-binary.js';

const root = resolve(import.meta.dirname, '..');

/** The artefact's file name for a version. */
export function artefactName(version: string): string {
  return `daemoneye-${version}-linux-x64.tar.gz`;
}

/**
 * Build (or take `binary`), checksum, sign with `key` (PEM PKCS#8 Ed25519) and pack into `outDir`; returns
 * the tarball's path. The signing runs the binary itself, under an empty environment, writing nothing else.
 */
export async function buildRelease(options: {key: string; outDir: string; binary?: string}): Promise<string> {
  if (!existsSync(options.key)) throw new Error(`release key ${options.key} does not exist: make one with \`daemoneye keys generate --dir DIR\``);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {version: string}).version;
  const stage = join(options.outDir, `.release-${version}`);
  rmSync(stage, {recursive: true, force: true});
  mkdirSync(stage, {recursive: true});
  const binary = join(stage, BINARY_NAME);
  if (options.binary === undefined) copyFileSync(await buildBinary(options.outDir), binary);
  else copyFileSync(options.binary, binary);
  const digest = createHash('sha256').update(readFileSync(binary)).digest('hex');
  writeFileSync(join(stage, 'SHA256SUMS'), `${digest}  ${BINARY_NAME}\n`);
  execFileSync(binary, ['sign', 'SHA256SUMS', '--key', resolve(options.key), '--no-audit', '--quiet', '--format', 'json'], {
    cwd: stage,
    env: {PATH: '/usr/bin:/bin', HOME: stage, STATE_DIRECTORY: join(stage, '.state')},
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  rmSync(join(stage, '.state'), {recursive: true, force: true});
  const tarball = join(options.outDir, artefactName(version));
  rmSync(tarball, {force: true});
  await createTar({gzip: true, file: tarball, cwd: stage, portable: true, noMtime: true}, [BINARY_NAME, 'SHA256SUMS', 'SHA256SUMS.sig']);
  rmSync(stage, {recursive: true, force: true});
  return tarball;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const {values} = parseArgs({options: {key: {type: 'string'}, out: {type: 'string', default: join(root, 'release')}, binary: {type: 'string'}}});
  if (values.key === undefined) {
    process.stderr.write('release: --key PRIVATE_KEY is required (the Ed25519 key that signs SHA256SUMS; `daemoneye keys generate --dir DIR` makes one)\n');
    process.exit(2);
  }
  try {
    const outDir = resolve(values.out);
    mkdirSync(outDir, {recursive: true});
    const tarball = await buildRelease({key: values.key, outDir, binary: values.binary});
    process.stdout.write(`${basename(tarball)}: sha256 ${createHash('sha256').update(readFileSync(tarball)).digest('hex')}\n`);
  } catch (error) {
    process.stderr.write(`release: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
