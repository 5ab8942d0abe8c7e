// State files and directories (src/util/state-file.ts): never through a link, this user's, not writable by
// others, one name only where appended in place.
import {chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

import {afterAll, describe, expect, it} from 'vitest';

import {ensureStateDirectory, readStateFile, writeStateFile} from '../../src/util/state-file.js';
import {removeDir, tempDir} from '../helpers/cli.js';

const dir = tempDir();
afterAll(() => removeDir(dir));

describe('readStateFile', () => {
  it('reads a file of this user; missing is undefined', () => {
    writeFileSync(join(dir, 'ok.json'), '{}', {mode: 0o600});
    expect(readStateFile(join(dir, 'ok.json'), {what: 'spool'})?.toString()).toBe('{}');
    expect(readStateFile(join(dir, 'none.json'), {what: 'spool'})).toBeUndefined();
  });

  it('refuses a link, a directory, a world-writable file, a hard-linked file, an oversized file', () => {
    writeFileSync(join(dir, 'target'), 'x');
    symlinkSync(join(dir, 'target'), join(dir, 'link.json'));
    expect(() => readStateFile(join(dir, 'link.json'), {what: 'spool'})).toThrow(/spool .*link\.json is a symbolic link: not used/);
    mkdirSync(join(dir, 'adir'));
    expect(() => readStateFile(join(dir, 'adir'), {what: 'spool'})).toThrow(/is not a regular file/);
    writeFileSync(join(dir, 'open.json'), 'x');
    chmodSync(join(dir, 'open.json'), 0o666);
    expect(() => readStateFile(join(dir, 'open.json'), {what: 'spool'})).toThrow(/is writable by every user: not used/);
    linkSync(join(dir, 'target'), join(dir, 'twice.json'));
    expect(() => readStateFile(join(dir, 'twice.json'), {what: 'ledger', singleLink: true})).toThrow(/has 2 hard links/);
    writeFileSync(join(dir, 'big.json'), 'x'.repeat(100));
    expect(() => readStateFile(join(dir, 'big.json'), {what: 'cache', maxBytes: 10})).toThrow(/is larger than 10 bytes/);
  });
});

describe('ensureStateDirectory and writeStateFile', () => {
  it('creates a missing directory 0700 and writes; a world-writable or linked-by-others directory is refused', () => {
    writeStateFile(join(dir, 'new', 'deep', 'state.json'), '{}', {what: 'state'});
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => ensureStateDirectory(open)).toThrow(/is writable by every user/);
    // A link to a directory made by this user (root here) is followed: systemd's DynamicUser makes such links.
    symlinkSync(join(dir, 'new'), join(dir, 'new-link'));
    expect(() => ensureStateDirectory(join(dir, 'new-link'))).not.toThrow();
    writeFileSync(join(dir, 'afile'), '');
    expect(() => ensureStateDirectory(join(dir, 'afile'))).toThrow(/is not a directory/);
  });
});
