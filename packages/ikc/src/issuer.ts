// Issuer: how a command reaches the kernel, either this process (the native
// call) or a broker (broker.ts's BrokerConnection has the same two calls).
// IkcClient (client.ts) and the network readers (sockets.ts, links.ts,
// addrs.ts) issue through here, so in-process and brokered answers take one
// path. Depends on binding.ts, errors.ts, ns.ts and response.ts only.
import { native } from './binding.js';
import { IkcError, wrap } from './errors.js';
import { withNs, type NsArg } from './ns.js';
import { readResponseChunks } from './response.js';

/** How a command reaches the kernel: directly, or through a broker. */
export interface Issuer {
  issue(ns: number, command: number, iov: Buffer[], flags: number): number;
  issueAsync(ns: number, command: number, iov: Buffer[], flags: number): Promise<number>;
}

/** This process, calling into the native module directly. */
export const inProcessIssuer: Issuer = {
  issue: (ns, command, iov, flags) => native.issueKernelCommand(ns, command, iov, flags),
  issueAsync: (ns, command, iov, flags) => native.issueKernelCommandAsync(ns, command, iov, flags),
};

/** The raw call through `issuer`: the response fd, or an IkcError. */
export function issue(issuer: Issuer, ns: number, command: number, iov: Buffer[], flags: number): number {
  return wrap(() => issuer.issue(ns, command, iov, flags));
}

/** The raw call through `issuer` off the main thread: the response fd, or an IkcError. */
export async function issueAsync(issuer: Issuer, ns: number, command: number, iov: Buffer[], flags: number): Promise<number> {
  try {
    return await issuer.issueAsync(ns, command, iov, flags);
  } catch (err) {
    throw IkcError.from(err);
  }
}

/** Who issues the command: an IkcClient (e.g. a BrokerClient), or this process when absent. */
export interface NetIssuer {
  issueKernelCommandAsync(ns: number, command: number, iov: Buffer[], flags?: number): Promise<number>;
}

const inProcessNet: NetIssuer = {
  issueKernelCommandAsync: (ns, command, iov, flags = 0) => issueAsync(inProcessIssuer, ns, command, iov, flags),
};

/** Issues a net command off the main thread with a raw ns number and returns the whole response. */
async function issueRaw(issuer: NetIssuer, raw: number, command: number, request: Buffer): Promise<Buffer> {
  let fd: number;
  try {
    fd = await issuer.issueKernelCommandAsync(raw, command, [request], 0);
  } catch (err) {
    throw IkcError.from(err);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of readResponseChunks(fd)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Issues one net command per request, in order, in the network namespace `ns` (opened once). */
export function issueNet(ns: NsArg | undefined, command: number, requests: Buffer[], issuer: NetIssuer = inProcessNet): Promise<Buffer[]> {
  return withNs(ns, 'net', async (raw) => {
    const answers: Buffer[] = [];
    for (const request of requests) answers.push(await issueRaw(issuer, raw, command, request));
    return answers;
  });
}
