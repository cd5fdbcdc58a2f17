// Address families and IP addresses as inet_ntop prints them, so sockets and
// addresses compare equal with ss and ip. Used by sockets.ts and addrs.ts.
export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** An IPv4 or IPv6 address as inet_ntop prints it. */
export function formatIp(family: number, b: Buffer): string {
  if (family === AF_INET) return [...b.subarray(0, 4)].join('.');
  if (family !== AF_INET6 || b.length < 16) return b.toString('hex');
  const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // The longest run of two or more zero words (the first on a tie) becomes '::'.
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { base: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  // IPv4-compatible (::a.b.c.d, not ::1) and IPv4-mapped (::ffff:a.b.c.d) keep their dotted tail.
  const v4tail =
    best.base === 0 && (best.len === 6 || (best.len === 7 && words[7] !== 1) || (best.len === 5 && words[5] === 0xffff));
  const hex = (from: number, to: number) => words.slice(from, to).map((w) => w.toString(16)).join(':');
  if (v4tail) return `::${best.len === 5 ? 'ffff:' : ''}${[...b.subarray(12, 16)].join('.')}`;
  if (best.base < 0) return hex(0, 8);
  return `${hex(0, best.base)}::${hex(best.base + best.len, 8)}`;
}
