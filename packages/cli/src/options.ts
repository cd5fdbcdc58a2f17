// The options several commands share, each defined once with how its value
// becomes the SDK's argument: --ns (a pid namespace; ps also takes --pidns),
// --backend (where full dumps read tasks) and --netns (a network namespace).
// A command spreads one into its builder: `.options(backendOption('...'))`.
import type { NsArg } from '@ikc/sdk';
import type { Options } from 'yargs';
import { UsageError } from './command.js';

const PIDNS_DESCRIBE = "Pid namespace: 'current', 'global' or a path such as /proc/PID/ns/pid";

/** `--ns`, with an `alias` (ps: --pidns) and a `note` on what the namespace gives, where a command has them. */
export function pidnsOption(more: { alias?: string; note?: string } = {}): { ns: Options } {
  const describe = more.note ? `${PIDNS_DESCRIBE} ${more.note}` : PIDNS_DESCRIBE;
  return { ns: { alias: more.alias, type: 'string', default: 'current', requiresArg: true, describe } };
}

/** The SDK's pid `ns` for a `--ns` value: a number is an fd. */
export function pidnsArg(value: string): NsArg {
  if (value === '') throw new UsageError('--ns needs a namespace: current, global, a path or an fd number');
  return /^[0-9]+$/.test(value) ? Number(value) : value;
}

/** `--backend`: auto, procfs or bpf; `describe` says which dumps it applies to. */
export function backendOption(describe: string): { backend: Options } {
  return { backend: { choices: ['auto', 'procfs', 'bpf'] as const, default: 'auto' as const, describe } };
}

const NETNS_DESCRIBE =
  "Network namespace: 'current', 'global', a path such as /proc/PID/ns/net or /run/netns/NAME, a bare NAME (for /run/netns/NAME) or an fd number. The namespace fd is the capability: only its sockets, links and addresses";

/** `--netns` (-N), for the commands that read a network namespace. */
export function netnsOption(): { netns: Options } {
  return { netns: { alias: 'N', type: 'string', default: 'current', requiresArg: true, describe: NETNS_DESCRIBE } };
}

/** The SDK's `ns` for a `--netns` value. */
export function netnsArg(value: string): NsArg {
  if (value === '' || value === '.' || value === '..') throw new UsageError(`--netns '${value}' is not a namespace: current, global, a path, a NAME in /run/netns or an fd number`);
  if (value === 'current' || value === 'global' || value.includes('/')) return value;
  if (/^[0-9]+$/.test(value)) return Number(value);
  return `/run/netns/${value}`;
}

/**
 * A `coerce` for a whole-number option: decimal digits only, so `12x`, `0x10`,
 * `1e3` and `-1` are refused rather than read as 12, 16, 1000 or a flag.
 */
export function wholeNumber(option: string, max = Number.MAX_SAFE_INTEGER): (value: unknown) => number {
  return (value) => {
    const text = String(value);
    if (!/^[0-9]+$/.test(text) || Number(text) > max) {
      throw new UsageError(`--${option} takes a whole decimal number${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, not '${text}'`);
    }
    return Number(text);
  };
}
