// CIDR networks: parsing (prefix range, host bits, IPv4 and IPv6 text forms) and membership, which the rule
// function cidr_match and Sigma's cidr modifier use (docs/sigma.md, docs/rules-sql.md).
import {describe, expect, it} from 'vitest';

import {cidrMatcher, parseCidr} from '../../src/detection/cidr.js';
import {USER_FUNCTIONS} from '../../src/detection/sql-policy.js';

const inNetwork = (network: string, address: string): boolean => {
  const parsed = parseCidr(network);
  if (typeof parsed === 'string') throw new Error(parsed);
  return cidrMatcher(parsed)(address);
};

describe('parseCidr', () => {
  it('reads IPv4 and IPv6 networks, and a bare address as the network of that address', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({address: '10.0.0.0', prefix: 8, family: 'ipv4'});
    expect(parseCidr('fe80::/10')).toEqual({address: 'fe80::', prefix: 10, family: 'ipv6'});
    expect(parseCidr('::1')).toEqual({address: '::1', prefix: 128, family: 'ipv6'});
    expect(parseCidr('::ffff:10.0.0.0/104')).toEqual({address: '::ffff:10.0.0.0', prefix: 104, family: 'ipv6'});
    expect(parseCidr('0.0.0.0/0')).toEqual({address: '0.0.0.0', prefix: 0, family: 'ipv4'});
  });

  it('refuses host bits set, a prefix out of range, and text that is no address', () => {
    expect(parseCidr('10.0.0.1/8')).toMatch(/host bits set/);
    expect(parseCidr('fe80::1/10')).toMatch(/host bits set/);
    expect(parseCidr('::ffff:10.0.0.1/104')).toMatch(/host bits set/);
    expect(parseCidr('10.0.0.0/33')).toMatch(/0 to 32/);
    expect(parseCidr('::/129')).toMatch(/0 to 128/);
    expect(parseCidr('10.0.0.0/-1')).toMatch(/prefix length/);
    expect(parseCidr('10.0.0.0/')).toMatch(/prefix length/);
    expect(parseCidr('010.0.0.0/8')).toMatch(/not an IP network/);
    expect(parseCidr('example.com/8')).toMatch(/not an IP network/);
    expect(parseCidr('')).toMatch(/not an IP network/);
  });
});

describe('membership', () => {
  it('IPv4, IPv6, IPv4-mapped IPv6 addresses in IPv4 networks; non-addresses in none', () => {
    expect(inNetwork('172.16.0.0/12', '172.31.255.255')).toBe(true);
    expect(inNetwork('172.16.0.0/12', '172.32.0.0')).toBe(false);
    expect(inNetwork('127.0.0.0/8', '::ffff:127.0.0.1')).toBe(true);
    expect(inNetwork('fc00::/7', 'fdff::1')).toBe(true);
    expect(inNetwork('fc00::/7', 'fe00::1')).toBe(false);
    expect(inNetwork('10.0.0.0/8', 'not an address')).toBe(false);
    expect(inNetwork('10.0.0.0/8', '')).toBe(false);
  });

  it('cidr_match: 1 or 0, NULL for NULL, an error naming the bad network', () => {
    const udf = USER_FUNCTIONS.find((f) => f.name === 'cidr_match')?.create();
    expect(udf?.('10.0.0.0/8', '10.1.2.3')).toBe(1);
    expect(udf?.('10.0.0.0/8', '11.1.2.3')).toBe(0);
    expect(udf?.(null, '10.1.2.3')).toBeNull();
    expect(udf?.('10.0.0.0/8', null)).toBeNull();
    expect(() => udf?.('10.0.0.1/8', '10.1.2.3')).toThrow(/cidr_match: "10\.0\.0\.1\/8" has host bits set/);
  });
});
