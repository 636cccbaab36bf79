/**
 * What Linux's /proc says of a process or thread: its name, parent and CPU time. For the benches and the
 * throwaway servers' CPU accounting; Linux only.
 */
import { readFileSync } from "node:fs";

export interface ProcStat {
  /** The command name (a thread's own name for /proc/<pid>/task/<tid>/stat). */
  name: string;
  parent: number;
  /** User plus system CPU time, in seconds. */
  cpuSeconds: number;
}

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** Reads `/proc/<path>/stat` (`path`: "1234" or "1234/task/1240"); undefined when the process has ended. */
export function procStat(path: string): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${path}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (name) state ppid …": the name may hold spaces and parentheses, so split after its last ")".
  const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  return {
    name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
    parent: Number(fields[1]),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS, // utime, stime
  };
}
