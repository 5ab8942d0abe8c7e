// False-positive gate on a checked-in snapshot of a typical busy server: the whole built-in pack must raise
// no high or critical alert on it. The low and medium findings it does raise are pinned, so a rule change that
// adds noise shows up in review.
import {readFileSync} from 'node:fs';

import {describe, expect, it} from 'vitest';

import {isAtLeast} from '../../src/models/severity.js';
import {BUSY_SERVER_FILE, BUSY_SERVER_NOW, renderBusyServer} from '../fixtures/busy-server/generate.js';
import {completeRows, loadRuleFiles, runRule, snapshotDatabase} from './rule-harness.js';

const fixture = JSON.parse(readFileSync(BUSY_SERVER_FILE, 'utf8')) as {now: number; processes: Record<string, unknown>[]};

async function findings(): Promise<{rule: string; severity: string; pid: number; name: string}[]> {
  const db = await snapshotDatabase(completeRows(fixture.processes, 1, fixture.now));
  try {
    return loadRuleFiles().flatMap((rule) =>
      runRule(db, rule.sql_query).map((row) => ({rule: rule.id, severity: rule.severity, pid: Number(row.pid), name: String(row.name)})),
    );
  } finally {
    db.close();
  }
}

describe('busy-server fixture', () => {
  it('is what the generator writes (regenerate with `npx tsx test/fixtures/busy-server/generate.ts`)', () => {
    expect(fixture.now).toBe(BUSY_SERVER_NOW);
    expect(readFileSync(BUSY_SERVER_FILE, 'utf8')).toBe(renderBusyServer());
    expect(fixture.processes.length).toBeGreaterThan(200);
  });

  it('raises no high or critical alert from the whole pack', async () => {
    const all = await findings();
    expect(all.filter((f) => isAtLeast(f.severity as 'low', 'high'))).toEqual([]);
  });

  it('raises only the expected low and medium findings', async () => {
    expect(await findings()).toEqual([
      // containerd upgraded on disk and not restarted yet
      {rule: 'replaced-executable', severity: 'low', pid: 900, name: 'containerd'},
      // WordPress calling ImageMagick through sh -c under php-fpm
      {rule: 'web-server-shell-spawn', severity: 'medium', pid: 99950, name: 'sh'},
    ]);
  });
});
