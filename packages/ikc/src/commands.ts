// The command table of this build as the binding exports it: the numbers the
// SDK issues, and every row for `commands()` (what `ikc commands` prints).
import { native, type CommandInfo } from './binding.js';

export type { CommandInfo };

/** The read-only bit of a command number. */
export const READ_ONLY: number = native.READ_ONLY;
export const TASK_DIAG: number = native.TASK_DIAG;
export const SOCK_DIAG: number = native.SOCK_DIAG;
export const LINK_DUMP: number = native.LINK_DUMP;
export const ADDR_DUMP: number = native.ADDR_DUMP;
export const LINK_STATS: number = native.LINK_STATS;
export const TASK_STATS: number = native.TASK_STATS;

/** The command table of this build. */
export function commands(): CommandInfo[] {
  return native.commands();
}
