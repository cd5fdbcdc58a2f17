// Reading response fds: whole (sync or async) and in chunks for large dumps.
// The SDK always closes the fds it reads.
import { closeSync, fstatSync, read, readSync } from 'node:fs';
import { promisify } from 'node:util';

const readAsync = promisify(read);
export const CHUNK = 256 * 1024;

/** Reads a whole response fd from offset 0 and closes it. */
export function readResponseSync(fd: number): Buffer {
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Yields a response fd's bytes in chunks, then closes it (also when the consumer stops early). */
export async function* readResponseChunks(fd: number, chunkSize = CHUNK): AsyncGenerator<Buffer> {
  try {
    let position = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(chunkSize);
      const { bytesRead } = await readAsync(fd, buf, 0, chunkSize, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    closeSync(fd);
  }
}
