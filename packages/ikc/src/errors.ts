// IkcError: the error type of everything ikc reports. `.code` is an errno name
// ('EINVAL', 'ESRCH', ...) and `.errno` its number, as Node's own fs errors do.
// The native binding's errors carry both as properties, thrown and rejected
// alike (crates/ikc-napi/src/convert.rs); `wrap` only changes their class.
import { constants } from 'node:os';

const errnoNumbers = constants.errno as Record<string, number>;

export class IkcError extends Error {
  readonly code: string;
  readonly errno: number;

  /** `errno` defaults to the number Node knows for `code` (for the SDK's own checks). */
  constructor(code: string, message: string, errno: number = errnoNumbers[code] ?? 0) {
    super(message);
    this.name = 'IkcError';
    this.code = code;
    this.errno = errno;
  }

  /**
   * The IkcError for an error the native binding threw or rejected with, taken
   * from its `code` and `errno`; an IkcError, or any other value (a napi-rs
   * argument TypeError, say), is returned as it is.
   */
  static from(err: unknown): unknown {
    if (err instanceof IkcError || !isBindingError(err)) return err;
    return new IkcError(err.code, err.message, err.errno);
  }
}

function isBindingError(err: unknown): err is Error & { code: string; errno: number } {
  const e = err as { code?: unknown; errno?: unknown };
  return err instanceof Error && typeof e.code === 'string' && typeof e.errno === 'number';
}

/** Runs `fn`, a call into the native binding, turning its error (thrown, or the rejection of the promise it returns) into an IkcError. */
export function wrap<T>(fn: () => T): T {
  let result: T;
  try {
    result = fn();
  } catch (err) {
    throw IkcError.from(err);
  }
  if (result instanceof Promise) {
    return result.catch((err: unknown) => {
      throw IkcError.from(err);
    }) as T;
  }
  return result;
}
