// ip's `[dev] NAME` words for `ikc links` and `ikc addrs`: which link to show.
// An unknown name is ENODEV, as ip says `Device "NAME" does not exist.`.
import { IkcError, type Link } from '@ikc/sdk';
import { UsageError } from './command.js';

export interface DeviceArgs {
  device?: string[];
}

/** The device named by the words (`dev NAME` or `NAME`), or undefined for every link. */
function deviceName(words: readonly string[]): string | undefined {
  if (words.length === 0) return undefined;
  const rest = words[0] === 'dev' ? words.slice(1) : words;
  if (rest.length !== 1) throw new UsageError(`expected 'dev NAME' or NAME, not '${words.join(' ')}'`);
  return rest[0];
}

/** The predicate for the links to show; throws ENODEV when the named link is not there. */
export function deviceFilter(argv: DeviceArgs, links: readonly Link[]): (l: Link) => boolean {
  const name = deviceName((argv.device ?? []).map(String));
  if (name === undefined) return () => true;
  const link = links.find((l) => l.name === name);
  if (!link) throw new IkcError('ENODEV', `Device "${name}" does not exist.`);
  return (l) => l.index === link.index;
}
