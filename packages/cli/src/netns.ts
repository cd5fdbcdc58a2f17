// The `--netns` option shared by `ikc sockets`, `ikc links` and `ikc addrs`:
// 'current', 'global', a path, a name under /run/netns (as `ip netns` names
// them) or an fd number; and the ifindex -> name map their layouts need.
import { links, type NetIssuer, type NsArg } from '@ikc/sdk';
import type { Argv } from 'yargs';

export const NETNS_DESCRIBE =
  "Network namespace: 'current', 'global', a path such as /proc/PID/ns/net or /run/netns/NAME, a bare NAME (for /run/netns/NAME) or an fd number. The namespace fd is the capability: only its sockets, links and addresses";

/** The SDK's `ns` for a `--netns` value. */
export function netnsArg(value: string): NsArg {
  if (value === 'current' || value === 'global' || value.includes('/')) return value;
  if (/^[0-9]+$/.test(value)) return Number(value);
  return `/run/netns/${value}`;
}

/** Adds `--netns` and `--json` to a command's builder. */
export function netOptions<T>(y: Argv<T>, json: string): Argv<T> {
  return y
    .option('netns', { alias: 'N', type: 'string', default: 'current', requiresArg: true, describe: NETNS_DESCRIBE })
    .option('json', { type: 'boolean', describe: json }) as unknown as Argv<T>;
}

/** ifindex -> name in the namespace `ns`. */
export async function ifNames(ns: NsArg, client: NetIssuer): Promise<Map<number, string>> {
  return new Map((await links({ ns, client })).map((l) => [l.index, l.name]));
}

/** An SDK object for --json: without the attributes the SDK does not name. */
export function withoutOther<T extends { other?: unknown }>(v: T): Omit<T, 'other'> {
  const { other: _other, ...rest } = v;
  return rest;
}
