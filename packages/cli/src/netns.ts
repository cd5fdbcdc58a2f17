// What `ikc sockets`, `ikc links` and `ikc addrs` share besides their options
// (options.ts): the ifindex -> name map their layouts need.
import { links, type NetIssuer, type NsArg } from '@ikc/sdk';

/** ifindex -> name in the namespace `ns`. */
export async function ifNames(ns: NsArg, client: NetIssuer): Promise<Map<number, string>> {
  return new Map((await links({ ns, client })).map((l) => [l.index, l.name]));
}
