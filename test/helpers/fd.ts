// Reading an fd as the response-fd suites look at it: its whole content with
// pread (the shared offset does not move) and its open flags from fdinfo.
import { fstatSync, readFileSync, readSync } from 'node:fs';

/** pread of the whole fd: does not move the shared file offset. */
export function preadAll(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let done = 0;
  while (done < size) done += readSync(fd, buf, done, size - done, done);
  return buf;
}

/** `flags:` of /proc/self/fdinfo/FD, octal as the kernel prints it. */
export const fdFlags = (fd: number) => parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);

export const O_CLOEXEC = 0o2000000;
