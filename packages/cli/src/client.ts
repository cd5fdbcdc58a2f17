// Which IkcClient the commands use: a broker when `--broker PATH`, IKC_BROKER
// (a socket path) or IKC_BROKER_FD (an inherited connection) says so, else this
// process. Connected lazily, so commands that need no client never connect.
import { BrokerClient, inProcess, type IkcClient } from '@ikc/sdk';
import { UsageError } from './command.js';

let brokerPath: string | undefined;
let chosen: IkcClient | undefined;

/** Set from the global `--broker` option before any command runs. */
export function setBrokerPath(path: string | undefined): void {
  brokerPath = path;
  chosen = undefined;
}

/** The client for this run. */
export function client(): IkcClient {
  chosen ??= brokerPath ? BrokerClient.connect(brokerPath) : (BrokerClient.fromEnv() ?? inProcess);
  return chosen;
}

/** A broker connection, required (for `ikc sandbox`). */
export function brokerClient(): BrokerClient {
  const c = client();
  if (!(c instanceof BrokerClient)) throw new UsageError('no broker: give --broker PATH or set IKC_BROKER');
  return c;
}
