import {describe, expect, it} from 'vitest';

import {DEFAULT_ALLOWED_FUNCTIONS, lexSql, SEED_ALLOWED_FUNCTIONS, SQL_LIMITS, SqlValidator} from '../../src/detection/sql-validator.js';
import {HOSTILE_SQL} from './hostile-sql.js';

const validator = new SqlValidator().withReadOnlyMode(true).withTimeout(5000);

function reasons(sql: string): string[] {
  const result = validator.validateQuery(sql);
  return result.valid ? [] : result.errors.map((e) => e.reason);
}

describe('SqlValidator refuses hostile SQL at validation', () => {
  it.each(HOSTILE_SQL)('$name → $reason', ({sql, reason}) => {
    const result = validator.validateQuery(sql);
    expect(result.valid).toBe(false);
    if (!result.valid) {
      expect(result.errors.map((e) => e.reason)).toContain(reason);
      for (const error of result.errors) expect(error.message.length).toBeGreaterThan(0);
    }
  });
});

describe('SqlValidator accepts ordinary detection SQL', () => {
  it.each([
    ["SELECT pid, name FROM processes WHERE name = 'x'"],
    ['WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT x AS pid FROM c'],
    ['SELECT p.pid FROM processes AS p WHERE p.name = (SELECT q.name FROM processes q WHERE q.pid = p.ppid)'],
    ["SELECT DISTINCT p.pid, a.value FROM processes p, json_each(p.command_line) a WHERE a.value IN ('-e', '-c')"],
    ['SELECT pid FROM processes WHERE executable_hash IN (SELECT value FROM list_ioc_sha256)'],
    ['SELECT name, count(*) AS n FROM processes GROUP BY name HAVING count(*) > 5 ORDER BY n DESC'],
    ["SELECT pid, json_extract(platform_data, '$.uid') AS u, iif(uid = 0, 'root', 'user') AS who, coalesce(cwd, '') AS c FROM processes"],
    ["SELECT pid FROM processes WHERE regexp('^\\d+$', name) AND basename(executable_path) = 'sh' AND dirname(executable_path) = '/tmp'"],
    ["SELECT pid FROM processes WHERE name REGEXP '^kworker' AND NOT (name GLOB 'x*')"],
    ['SELECT pid, row_number() OVER (PARTITION BY 1 ORDER BY pid) AS rn FROM processes'],
    ['SELECT x.pid FROM (SELECT * FROM processes) x WHERE x.uid = 0'],
    ['SELECT p.pid FROM processes p WHERE EXISTS (SELECT 1 FROM processes c WHERE c.ppid = p.pid)'],
    ["SELECT pid FROM processes WHERE name = 'C:\\'"],
    [
      'SELECT p.pid FROM processes p JOIN scans s ON s.id = p.scan_id JOIN processes a ON a.pid = p.ppid JOIN processes b ON b.pid = a.ppid ' +
        'JOIN processes c ON c.pid = b.ppid LEFT JOIN processes d ON d.pid = c.ppid',
    ],
    ['SELECT rowid, pid FROM processes UNION ALL SELECT id, process_count FROM scans'],
  ])('%s', (sql) => {
    expect(validator.validateQuery(sql)).toEqual({valid: true});
  });
});

describe('SqlValidator reports', () => {
  it('every error, each with its reason', () => {
    const result = validator.validateQuery('SELECT bogus, load_extension(1), sleep(2) FROM processes WHERE pid IN (SELECT pid FROM nowhere)');
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.errors.map((e) => e.reason).sort()).toEqual(['forbidden_function', 'unknown_column', 'unknown_function', 'unknown_table']);
  });

  it.each([
    ['SELECT pid, row_number() OVER (ORDER BY pid) AS rn FROM processes', 'PARTITION BY 1'],
    ["SELECT pid FROM processes WHERE name NOT GLOB 'x*'", 'NOT (x GLOB'],
    ['SELECT pid FROM processes INTERSECT SELECT pid FROM processes', 'IN (SELECT'],
    ['SELECT pid FROM processes EXCEPT SELECT pid FROM processes', 'NOT IN (SELECT'],
    ['SELECT sum(pid) FILTER (WHERE pid > 1) AS pid FROM processes', 'iif'],
    ['SELECT pid FROM processes ORDER BY pid NULLS LAST', 'IS NULL'],
    ['SELECT pid, sum(pid) OVER (PARTITION BY name ORDER BY pid ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM processes', 'frame'],
  ])('syntax the parser cannot read, with the workaround: %s', (sql, workaround) => {
    const result = validator.validateQuery(sql);
    expect(result.valid).toBe(false);
    if (!result.valid) {
      expect(result.errors[0]?.reason).toBe('unsupported_syntax');
      expect(result.errors[0]?.message).toMatch(/parser cannot read it/);
      expect(result.errors[0]?.workaround).toContain(workaround);
    }
  });

  it('columns of CTEs and subqueries are checked', () => {
    expect(reasons('WITH c AS (SELECT pid AS p FROM processes) SELECT c.p FROM c')).toEqual([]);
    expect(reasons('WITH c AS (SELECT pid AS p FROM processes) SELECT c.pid FROM c')).toEqual(['unknown_column']);
    expect(reasons('SELECT s.q FROM (SELECT pid AS q FROM processes) s')).toEqual([]);
    expect(reasons('SELECT s.pid FROM (SELECT pid AS q FROM processes) s')).toEqual(['unknown_column']);
    expect(reasons('SELECT z.pid FROM processes p')).toEqual(['unknown_table']);
  });

  it('bounds joins per SELECT', () => {
    const joins = Array.from({length: SQL_LIMITS.maxJoins + 1}, (_, i) => `JOIN processes p${i} ON p${i}.pid = p.pid`).join(' ');
    expect(reasons(`SELECT p.pid FROM processes p ${joins}`)).toEqual(['too_many_joins']);
  });

  it('finds the named lists a query reads', () => {
    expect(validator.referencedLists('SELECT pid FROM processes WHERE name IN (SELECT value FROM list_b) OR name IN (SELECT value FROM "list_a")')).toEqual([
      'a',
      'b',
    ]);
  });
});

describe('SqlValidator builder', () => {
  it('takes the seed allow-list', () => {
    const seed = new SqlValidator().withAllowedFunctions([...SEED_ALLOWED_FUNCTIONS]);
    expect(seed.validateQuery('SELECT count(*) AS n, max(pid) AS m FROM processes').valid).toBe(true);
    expect(seed.validateQuery('SELECT coalesce(name, 1) AS n FROM processes').valid).toBe(false);
    expect(DEFAULT_ALLOWED_FUNCTIONS).toEqual(expect.arrayContaining([...SEED_ALLOWED_FUNCTIONS, 'regexp', 'basename', 'dirname']));
  });

  it('never allows a forbidden function, never runs writable', () => {
    expect(() => new SqlValidator().withAllowedFunctions(['count', 'load_extension'])).toThrow(/can never be allowed/);
    expect(() => new SqlValidator().withReadOnlyMode(false)).toThrow(/read-only/);
    expect(new SqlValidator().withTimeout(1234).timeoutMs).toBe(1234);
  });
});

describe('lexSql', () => {
  it('splits statements the way SQLite does and measures depth', () => {
    const lexed = lexSql("SELECT ';' /* ; */ -- ;\n, ((1)); SELECT 2");
    expect(lexed.statements).toHaveLength(2);
    expect(lexed.maxDepth).toBe(2);
    expect(lexed.parserText).not.toContain('/*');
  });
});

describe('SqlValidator verdict cache', () => {
  it('gives the same verdict again, and forgets it when the allow-list changes', () => {
    const validator = new SqlValidator();
    const sql = 'SELECT pid, upper(name) AS n FROM processes';
    expect(validator.validateQuery(sql)).toEqual({valid: true});
    expect(validator.validateQuery(sql)).toEqual({valid: true});
    validator.withAllowedFunctions(['count']);
    expect(validator.validateQuery(sql).valid).toBe(false);
  });
});
