// The broker from Node: BrokerClient (the same calls as in-process use, answered
// by a broker over a unix socket), startBroker (the daemon), runSandboxed.
import { native } from './binding.js';
import { IkcClient } from './client.js';
import { wrap } from './errors.js';

type NativeConnection = InstanceType<typeof native.BrokerConnection>;

/** A connection to an ikc broker; every call of IkcClient goes through it. */
export class BrokerClient extends IkcClient {
  private constructor(private readonly conn: NativeConnection) {
    // A connection is an Issuer: the same two calls, answered by the broker.
    super(conn);
  }

  /** Connects to the broker listening at `path`. */
  static connect(path: string): BrokerClient {
    return new BrokerClient(wrap(() => native.BrokerConnection.connect(path)));
  }

  /** Adopts a connection this process inherited (the fd is duplicated). */
  static fromFd(fd: number): BrokerClient {
    return new BrokerClient(wrap(() => native.BrokerConnection.fromFd(fd)));
  }

  /** `IKC_BROKER_FD` (inherited in a sandbox) or `IKC_BROKER` (a socket path); undefined if neither is set. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): BrokerClient | undefined {
    if (env.IKC_BROKER_FD) return BrokerClient.fromFd(Number(env.IKC_BROKER_FD));
    if (env.IKC_BROKER) return BrokerClient.connect(env.IKC_BROKER);
    return undefined;
  }

  /** The connection's fd number (what `ikc sandbox` hands to its child). */
  get fd(): number {
    return this.conn.fd;
  }

  close(): void {
    this.conn.close();
  }
}

export interface BrokerOptions {
  /** Where to bind (ignored under systemd socket activation). */
  socketPath?: string;
  /** Socket file mode, default 0o660. */
  mode?: number;
  /** Group owning the socket file. */
  gid?: number;
  /** Connections served at once (default 256; the last sixteenth is kept for root). */
  maxClients?: number;
  /** Connections one uid may hold at once (default 32; root is not limited per uid). */
  maxClientsPerUid?: number;
  /** Requests one uid may have in flight at once (default 8). */
  maxRequestsPerUid?: number;
  /** The largest response handed out, in bytes (default 64 MiB; EMSGSIZE beyond). */
  maxResponseBytes?: number;
  /** Response bytes one uid is handed per `responseWindowMs` (default 256 MiB; ENOBUFS beyond). */
  responseBudgetBytes?: number;
  /** The window of the response budget (default 60 s). */
  responseWindowMs?: number;
  /** Streams (events, statistics) running at once in the broker (default 512; EAGAIN beyond). */
  maxStreams?: number;
  /** Streams one uid may have running at once (default 16; root is not limited per uid). */
  maxStreamsPerUid?: number;
  /** Idle connections are closed after this long (default 60 s). */
  idleTimeoutMs?: number;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
}

export interface RunningBroker {
  stop(): void;
  readonly activeClients: number;
  /** Resolves once the broker has stopped. */
  closed: Promise<void>;
}

/** Starts a broker on a thread of this process. */
export function startBroker(options: BrokerOptions): RunningBroker {
  const broker = wrap(() => native.Broker.start(options));
  const closed = wrap(() => broker.closed());
  return {
    stop: () => broker.stop(),
    get activeClients() {
      return broker.activeClients;
    },
    closed,
  };
}

/** Runs `argv` under ikc's seccomp sandbox, `keepFd` inherited as IKC_BROKER_FD; resolves to its exit status. */
export async function runSandboxed(argv: string[], keepFd?: number): Promise<number> {
  return wrap(() => native.runSandboxed(argv, keepFd));
}
