// What `ikc sockets`, `ikc links` and `ikc addrs` share besides their options
// (options.ts): the ifindex -> name map their layouts need, and SDK objects
// without their uninterpreted attributes for --json.
import { links, type NetIssuer, type NsArg } from '@ikc/sdk';

/** ifindex -> name in the namespace `ns`. */
export async function ifNames(ns: NsArg, client: NetIssuer): Promise<Map<number, string>> {
  return new Map((await links({ ns, client })).map((l) => [l.index, l.name]));
}

/** An SDK object for --json: without the attributes the SDK does not name. */
export function withoutOther<T extends { other?: unknown }>(v: T): Omit<T, 'other'> {
  const { other: _other, ...rest } = v;
  return rest;
}
