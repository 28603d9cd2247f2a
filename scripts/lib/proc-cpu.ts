/** CPU time a process has used so far (user + system, all its threads), from /proc/<pid>/stat (Linux). */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)

export function cpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/**
 * CPU time every PostgreSQL process on this machine has used so far, with that of the backends that
 * have exited (counted in the postmaster's children's time): the database's share of a measurement.
 * The benchmark's database server is the machine's own; anything else using it at the time counts too.
 */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14-17 of the whole line, 12-15 after the name.
      total += fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0);
    } catch {
      // the process ended between the listing and the read: its time is in its parent's now
    }
  }
  return (total * 1000) / TICKS_PER_S;
}
