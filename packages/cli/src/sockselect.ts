// Which sockets `ikc sockets` asks for, from ss's selection syntax: tables
// (-t, -u, -x, -A QUERY), families (-4, -6, -f FAMILY) and the state filter
// words (`state established`, `exclude listening`, ...). Pure; the states
// become the kernel's own state mask in the SOCK_DIAG request. What ss can
// select but ikc cannot dump (raw, packet, netlink, ... sockets) is refused,
// never dropped. Used by commands/sockets.ts.
import { SocketState } from '@ikc/sdk';
import { UsageError } from './command.js';

const AF_INET = 2;
const AF_INET6 = 10;

/** What to dump, for the SDK's sockets(). */
export interface SocketSelection {
  tcp: boolean;
  udp: boolean;
  unix: boolean;
  /** The UNIX socket types to keep (SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5). */
  unixTypes: ReadonlySet<number>;
  families: number[];
  /** A state mask from `state`/`exclude` words, or undefined for -a/-l/the default. */
  states?: number;
}

const bit = (name: (typeof SocketState)[number]) => 1 << SocketState.indexOf(name);
const ALL = (1 << SocketState.length) - 1;
const BUCKET = bit('SYN-RECV') | bit('TIME-WAIT');
const CONNECTED = ALL & ~(bit('LISTEN') | bit('UNCONN'));

/** ss's state names and groups (ss(8), STATE-FILTER). */
const STATE_WORDS: Record<string, number> = {
  established: bit('ESTAB'), 'syn-sent': bit('SYN-SENT'), 'syn-recv': bit('SYN-RECV'),
  'fin-wait-1': bit('FIN-WAIT-1'), 'fin-wait-2': bit('FIN-WAIT-2'), 'time-wait': bit('TIME-WAIT'),
  closed: bit('UNCONN'), 'close-wait': bit('CLOSE-WAIT'), 'last-ack': bit('LAST-ACK'),
  listening: bit('LISTEN'), closing: bit('CLOSING'),
  all: ALL, connected: CONNECTED, synchronized: CONNECTED & ~bit('SYN-SENT'), bucket: BUCKET, big: ALL & ~BUCKET,
};

/** ss -A tables ikc can dump, and the ones it cannot (with why). */
const TABLES: Record<string, Array<'tcp' | 'udp' | 1 | 2 | 5>> = {
  tcp: ['tcp'], udp: ['udp'], unix: [1, 2, 5], unix_stream: [1], unix_dgram: [2], unix_seqpacket: [5],
};
const NOT_DUMPED = ['all', 'inet', 'raw', 'packet', 'packet_raw', 'packet_dgram', 'netlink', 'dccp', 'sctp', 'mptcp', 'vsock', 'vsock_stream', 'vsock_dgram', 'xdp', 'tipc'];

export interface SelectionArgs {
  t?: boolean;
  u?: boolean;
  x?: boolean;
  '4'?: boolean;
  '6'?: boolean;
  f?: string;
  A?: string;
  filter?: readonly string[];
}

/** The state mask of ss's filter words, or undefined when there are none. */
export function parseStateFilter(words: readonly string[]): number | undefined {
  if (words.length === 0) return undefined;
  let states = 0;
  let any = false;
  for (let i = 0; i < words.length; i += 2) {
    const [verb, name] = [words[i], words[i + 1]];
    if (verb !== 'state' && verb !== 'exclude' && verb !== 'excl') {
      throw new UsageError(
        `filter '${words.slice(i).join(' ')}' is not supported: ikc takes only 'state NAME' and 'exclude NAME' (port and address expressions such as 'sport = :22' are not implemented)`,
        'EOPNOTSUPP',
      );
    }
    if (name === undefined) throw new UsageError(`'${verb}' needs a state name (${Object.keys(STATE_WORDS).join(', ')})`);
    const mask = Object.hasOwn(STATE_WORDS, name) ? STATE_WORDS[name] : undefined;
    if (mask === undefined) throw new UsageError(`wrong state name: ${name} (${Object.keys(STATE_WORDS).join(', ')})`);
    if (verb === 'state') {
      states |= mask;
      any = true;
    } else {
      if (!any) states = ALL;
      any = true;
      states &= ~mask;
    }
  }
  return states;
}

/** The tables, families and states the options select, as ss would. */
export function socketSelection(a: SelectionArgs): SocketSelection {
  let tcp = a.t === true;
  let udp = a.u === true;
  const unixTypes = new Set<number>(a.x ? [1, 2, 5] : []);
  for (const table of a.A === undefined ? [] : a.A.split(',')) {
    if (NOT_DUMPED.includes(table)) {
      throw new UsageError(`-A ${table}: ikc dumps only tcp, udp and unix sockets (ss would include raw, packet, netlink or other sockets it cannot list)`, 'EOPNOTSUPP');
    }
    const kinds = Object.hasOwn(TABLES, table) ? TABLES[table] : undefined;
    if (!kinds) throw new UsageError(`"${table}" is illegal socket table id (${Object.keys(TABLES).join(', ')})`);
    for (const k of kinds) {
      if (k === 'tcp') tcp = true;
      else if (k === 'udp') udp = true;
      else unixTypes.add(k);
    }
  }
  const families: number[] = [];
  if (a['4']) families.push(AF_INET);
  if (a['6']) families.push(AF_INET6);
  let unixFamily = false;
  if (a.f !== undefined) {
    if (a.f === 'inet') families.push(AF_INET);
    else if (a.f === 'inet6') families.push(AF_INET6);
    else if (a.f === 'unix') unixFamily = true;
    else if (['link', 'netlink', 'vsock', 'tipc', 'xdp'].includes(a.f)) throw new UsageError(`-f ${a.f}: ikc dumps only inet, inet6 and unix sockets`, 'EOPNOTSUPP');
    else throw new UsageError(`"${a.f}" is invalid family (inet, inet6, unix)`);
  }
  const anyTable = tcp || udp || unixTypes.size > 0;
  if (families.length > 0 || unixFamily) {
    // A family narrows the tables: -4 alone is ss's every inet table, -f unix every unix one.
    if (!anyTable) {
      if (families.length > 0) {
        throw new UsageError('-4, -6 and -f inet[6] without -t or -u would include raw and other inet sockets ss lists and ikc cannot: add -t, -u or both', 'EOPNOTSUPP');
      }
      [1, 2, 5].forEach((t) => unixTypes.add(t));
    } else {
      if (!unixFamily) unixTypes.clear();
      if (families.length === 0) [tcp, udp] = [false, false];
    }
    if (!tcp && !udp && unixTypes.size === 0) throw new UsageError('the family options exclude every table asked for (-x with -4/-6, or -t/-u with -f unix)');
  } else if (!anyTable) {
    [tcp, udp] = [true, true];
    [1, 2, 5].forEach((t) => unixTypes.add(t));
  }
  return {
    tcp,
    udp,
    unix: unixTypes.size > 0,
    unixTypes,
    families: families.length ? [...new Set(families)] : [AF_INET, AF_INET6],
    states: parseStateFilter(a.filter ?? []),
  };
}

/** ss prints the State column unless the filter leaves one state. */
export const showsState = (states: number | undefined) => states === undefined || (states & (states - 1)) !== 0;
