import {spawn} from 'node:child_process';
import {existsSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

import {afterAll, describe, expect, it} from 'vitest';

import {AtomicFileWriter, removeStaleTempFiles, writeFileAtomic} from '../../src/util/atomic-write.js';
import {withLock} from '../../src/util/lock.js';
import {removeDir, ROOT, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

describe('atomic writes', () => {
  it('replaces a file whole and leaves no temp file', () => {
    const path = join(dir, 'a.json');
    writeFileSync(path, 'old');
    writeFileAtomic(path, 'new', {mode: 0o600});
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('abort leaves the old file untouched', () => {
    const path = join(dir, 'b.json');
    writeFileSync(path, 'keep');
    const writer = new AtomicFileWriter(path);
    writer.write('partial');
    writer.abort();
    expect(readFileSync(path, 'utf8')).toBe('keep');
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('commitAsNew never replaces a file: it takes the next free name', () => {
    writeFileSync(join(dir, 'new-0'), 'first');
    const writer = new AtomicFileWriter(join(dir, 'new-0'), {mode: 0o600});
    writer.write('second');
    const path = writer.commitAsNew((attempt) => `new-${attempt}`);
    expect(path).toBe(join(dir, 'new-1'));
    expect(readFileSync(join(dir, 'new-0'), 'utf8')).toBe('first');
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('a missing directory is a write error naming the path', () => {
    expect(() => writeFileAtomic(join(dir, 'nope', 'x'), 'x')).toThrow(/cannot write .*nope\/x/);
  });

  it('removes stale temp files only', () => {
    const stale = join(dir, '.tmp-old');
    writeFileSync(stale, '');
    utimesSync(stale, new Date(0), new Date(0));
    writeFileSync(join(dir, '.tmp-fresh'), '');
    expect(removeStaleTempFiles(dir)).toEqual(['.tmp-old']);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(dir, '.tmp-fresh'))).toBe(true);
  });
});

describe('withLock', () => {
  it('serialises concurrent holders', async () => {
    const path = join(dir, 'counter');
    writeFileSync(path, '0');
    await Promise.all(
      Array.from({length: 8}, () =>
        withLock(path, async () => {
          const value = Number(readFileSync(path, 'utf8'));
          await new Promise((r) => setTimeout(r, 5));
          writeFileSync(path, String(value + 1));
        }),
      ),
    );
    expect(readFileSync(path, 'utf8')).toBe('8');
  });

  it('a signal removes the lock a run holds, and the one it is taking or giving back', async () => {
    // A process of the built CLI's modules with the CLI's signal handling: it holds one lock (waiting for ever
    // inside it) and takes and gives back another without pause, so a signal lands while proper-lockfile
    // still probes a directory it just made, or is removing one. SIGTERM at seeded moments after it holds the
    // first: it must end by the signal and leave neither lock directory behind.
    const module = (name: string): string => pathToFileURL(join(ROOT, 'dist', 'src', 'util', name)).href;
    const script = [
      `import {installInterruptHandlers} from ${JSON.stringify(module('interrupt.js'))};`,
      `import {withLock} from ${JSON.stringify(module('lock.js'))};`,
      'installInterruptHandlers();',
      'const [held, churn] = process.argv.slice(1);',
      "void withLock(held, () => { process.stdout.write('held\\n'); return new Promise(() => undefined); });",
      'for (;;) await withLock(churn, async () => undefined);',
    ].join('\n');
    const ends = [40, 130, 260, 410].map(
      (delay, index) =>
        new Promise<{delay: number; signal: NodeJS.Signals | null; code: number | null; left: string[]}>((resolve, reject) => {
          const held = join(dir, `held-${index}`);
          const churn = join(dir, `churn-${index}`);
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, held, churn], {stdio: ['ignore', 'pipe', 'inherit']});
          const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
          child.stdout.once('data', () => setTimeout(() => child.kill('SIGTERM'), delay));
          child.on('error', reject);
          child.on('close', (code, signal) => {
            clearTimeout(guard);
            resolve({delay, signal, code, left: [held, churn].map((path) => `${path}.lock`).filter((lock) => existsSync(lock))});
          });
        }),
    );
    for (const ended of await Promise.all(ends)) expect(ended).toEqual({delay: ended.delay, signal: 'SIGTERM', code: null, left: []});
  });
});
