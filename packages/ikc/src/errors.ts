// IkcError: the one error type the SDK throws. `.code` is an errno name
// ('EINVAL', 'ESRCH', ...) and `.errno` its number, as Node's own fs errors do.
import { constants } from 'node:os';

const errnoNumbers = constants.errno as Record<string, number>;
const CODE = /^(E[A-Z0-9]+)(?::|$)/;

export class IkcError extends Error {
  readonly code: string;
  readonly errno: number;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'IkcError';
    this.code = code;
    this.errno = errnoNumbers[code] ?? 0;
  }

  /** Wraps an error thrown by the native binding (its message starts with the code). */
  static from(err: unknown): IkcError {
    if (err instanceof IkcError) return err;
    const e = err as { code?: unknown; message?: unknown };
    const message = typeof e?.message === 'string' ? e.message : String(err);
    const code =
      typeof e?.code === 'string' && CODE.test(e.code) ? e.code : (CODE.exec(message)?.[1] ?? 'EIO');
    return new IkcError(code, message);
  }
}

/** Runs `fn`, turning any native error into an IkcError. */
export function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw IkcError.from(err);
  }
}
