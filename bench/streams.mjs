// npm run bench:streams: what statistics streams cost. N subscribers to the
// links of this namespace every INTERVAL share one kernel dump per tick
// (LINK_STATS); measured beside the same N readers each polling LINK_DUMP once
// per interval, as tools do today. Counts dumps (distinct snapshot times) and
// the CPU time this process spent, in the same run.
//   node bench/streams.mjs [--subscribers 1,100,1000] [--seconds 5] [--interval 1000] [--drift-ticks 1000]
// Then the drift: tick k's timestamp against tick 0's + k x 100 ms, over --drift-ticks ticks
// (absolute deadlines: it stays the scheduling latency of one tick, never adds up).
import { parseArgs } from 'node:util';
import { setMaxListeners } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { links, subscribeLinkStats } from '@ikc/sdk';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1,100,1000' },
    seconds: { type: 'string', default: '5' },
    interval: { type: 'string', default: '1000' },
    'drift-ticks': { type: 'string', default: '1000' },
  },
});
const counts = values.subscribers.split(',').map(Number);
const seconds = Number(values.seconds);
const intervalMs = Number(values.interval);

/** utime + stime of this process, in ms (USER_HZ 100). */
function cpuMs() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** CPU ms of this process's threads named `comm` (the serving side: ikc's producer threads), live ones. */
function threadCpuMs(comm) {
  let ms = 0;
  for (const t of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() !== comm) continue;
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1].split(' ');
      ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // the thread ended
    }
  }
  return ms;
}

async function streams(n) {
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const times = new Set();
  let snapshots = 0;
  const cpu0 = cpuMs();
  const readers = Array.from({ length: n }, async () => {
    for await (const s of subscribeLinkStats({ intervalMs, signal: abort.signal })) {
      times.add(s.monotonicNs);
      snapshots++;
    }
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const serving = threadCpuMs('ikc-link-stats');
  abort.abort();
  await Promise.all(readers);
  // Each subscriber's tick 0 is a dump of its own (taken as it joins); every later tick is shared.
  return { snapshots, dumps: times.size, shared: times.size - n, cpuMs: cpuMs() - cpu0, serving };
}

async function polling(n) {
  const cpu0 = cpuMs();
  let answers = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const tick = Date.now();
    await Promise.all(Array.from({ length: n }, () => links().then(() => answers++)));
    await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - tick))));
  }
  return { answers, cpuMs: cpuMs() - cpu0 };
}

console.log(`LINK_STATS: N subscribers for ${seconds} s at ${intervalMs} ms, against N readers polling LINK_DUMP each interval (same run)`);
console.log('subscribers  snapshots  dumps (joins + shared ticks)  producer CPU ms  process CPU ms (stream)  |  polls = dumps  process CPU ms (polling)  polling/stream');
for (const n of counts) {
  const s = await streams(n);
  const p = await polling(n);
  const ratio = s.cpuMs > 0 ? (p.cpuMs / s.cpuMs).toFixed(1) : '∞';
  console.log(`${String(n).padStart(11)}  ${String(s.snapshots).padStart(9)}  ${`${n} + ${s.shared}`.padStart(28)}  ${String(s.serving).padStart(15)}  ${String(s.cpuMs).padStart(23)}  |  ${String(p.answers).padStart(13)}  ${String(p.cpuMs).padStart(24)}  ${ratio.padStart(14)}×`);
}

const driftTicks = Number(values['drift-ticks']);
if (driftTicks > 0) {
  let t0;
  let worst = 0;
  let last = 0;
  let gaps = 0;
  for await (const s of subscribeLinkStats({ intervalMs: 100, count: driftTicks + 1 })) {
    if (s.tick === 0) t0 = s.monotonicNs;
    gaps += s.missed + s.skipped;
    const drift = Number(s.monotonicNs - t0) / 1e6 - s.tick * 100;
    worst = Math.max(worst, Math.abs(drift));
    last = drift;
  }
  console.log(`drift after ${driftTicks} ticks at 100 ms: ${last.toFixed(2)} ms (worst ${worst.toFixed(2)} ms; ${gaps} ticks missed or skipped)`);
}
