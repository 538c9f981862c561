import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup as dnsLookupAsync } from 'node:dns/promises';
import { BlockList, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook must not reach unless WEBHOOK_ALLOW_PRIVATE says so: a client could
 * otherwise make the service call into its own network (SSRF): Redis, cloud metadata at
 * 169.254.169.254, admin ports. IPv4-mapped IPv6 addresses are refused whole, since they can
 * spell any IPv4 address. Two lists: BlockList matches IPv4 addresses against IPv6 rules as
 * mapped addresses, so one list would refuse every IPv4 address.
 */
const PRIVATE_V4 = new BlockList();
const PRIVATE_V6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE_V4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE_V6.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string, family: 4 | 6): boolean {
  return family === 4 ? PRIVATE_V4.check(address, 'ipv4') : PRIVATE_V6.check(address, 'ipv6');
}

export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
  constructor(hostname: string, address: string) {
    super(
      `${hostname} resolves to ${address}, a loopback, link-local or private address (WEBHOOK_ALLOW_PRIVATE is off)`,
    );
  }
}

const refusedAmong = (addresses: LookupAddress[]) =>
  addresses.find((entry) => isPrivateAddress(entry.address, entry.family === 4 ? 4 : 6));

/** Resolves a callback's host and refuses it when any of its addresses is private. */
export async function checkPublicHost(hostname: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  // URL keeps the brackets of an IPv6 literal.
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const refused = refusedAmong(await dnsLookupAsync(host, { all: true }));
  if (refused) throw new PrivateAddressError(host, refused.address);
}

/**
 * A `lookup` for http.request that refuses private addresses at connection time, so that a host
 * whose DNS answer changed since the submission was checked (DNS rebinding) is refused too.
 */
export function publicLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const refused = allowPrivate ? undefined : refusedAmong(addresses);
      if (refused) return callback(new PrivateAddressError(hostname, refused.address), '', 0);
      if (options.all) return (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}
