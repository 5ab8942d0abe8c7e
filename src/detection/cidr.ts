// CIDR networks (RFC 4632 for IPv4, RFC 4291 section 2.3 for IPv6) and whether an address lies in one: what
// the rule function `cidr_match` and Sigma's `cidr` modifier compile to. Membership is Node's net.BlockList;
// this module parses and checks the network text, so a rule with a bad network is refused when it is loaded.
import {BlockList, isIP} from 'node:net';

export interface CidrNetwork {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** An address as a number (IPv4: 32 bits, IPv6: 128), for the host-bits check; `address` is valid. */
function addressBits(address: string, family: 'ipv4' | 'ipv6'): bigint {
  if (family === 'ipv4') return address.split('.').reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);
  let text = address;
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) as two groups.
  const v4 = text.slice(text.lastIndexOf(':') + 1);
  if (v4.includes('.')) {
    const n = addressBits(v4, 'ipv4');
    text = `${text.slice(0, -v4.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, group) => (n << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/**
 * A network in CIDR notation (`10.0.0.0/8`, `fe80::/10`; a bare address is the network of that one
 * address), or the reason it is not one: not an IP address, a prefix out of range, or host bits set
 * (`10.0.0.1/8`, which names no network exactly: write `10.0.0.0/8`).
 */
export function parseCidr(text: string): CidrNetwork | string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return `${JSON.stringify(text)} is not an IP network in CIDR notation (a.b.c.d/n or an IPv6 address/n)`;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const width = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(width) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) return `${JSON.stringify(text)}: the prefix length must be 0 to ${width}`;
  const prefix = Number(prefixText);
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  if ((addressBits(address, family) & hostMask) !== 0n) return `${JSON.stringify(text)} has host bits set: the network is written with them zero`;
  return {address, prefix, family};
}

/**
 * A test of addresses against one network. An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is in an IPv4
 * network when its IPv4 address is. A text that is not an IP address is in no network.
 */
export function cidrMatcher(network: CidrNetwork): (address: string) => boolean {
  const list = new BlockList();
  list.addSubnet(network.address, network.prefix, network.family);
  return (address) => {
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}
