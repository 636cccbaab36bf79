/**
 * One process per SQLite database (P-L1): a lock file beside the database (`<file>.lock`, holding the
 * owner's pid and host) taken with an exclusive create, so that a second batcher on the same file refuses to
 * start instead of sealing and anchoring beside the first with the same wallet. A lock left by a process that
 * no longer runs on this host (a crash, a SIGKILL) is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { ConfigError } from "../../errors";

export interface ProcessLock {
  readonly path: string;
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
  }
}

/** Takes the lock of `database` for this process, or throws a ConfigError naming the process that holds it. */
export function lockDatabaseFile(database: string): ProcessLock {
  const path = `${database}.lock`;
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: "wx", mode: 0o644 });
      return {
        path,
        release: () => {
          try {
            const holder = JSON.parse(readFileSync(path, "utf8")) as Holder;
            if (holder.pid === me.pid && holder.host === me.host) unlinkSync(path);
          } catch {
            // gone already
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new ConfigError(`cannot create the lock file ${path}: ${(error as Error).message}`, { cause: error });
      }
    }
    let holder: Holder | undefined;
    try {
      holder = JSON.parse(readFileSync(path, "utf8")) as Holder;
    } catch {
      holder = undefined; // unreadable or half-written: treated as stale
    }
    if (holder !== undefined && (holder.host !== me.host || running(holder.pid))) {
      throw new ConfigError(
        `${database} is in use by another batcher (pid ${holder.pid} on ${holder.host}, since ${holder.since}): ` +
          "with SQLite one process seals and anchors. Stop it, or give this one another database file; " +
          `if no such process runs, delete ${path}`,
        { details: { database, lock: path, holder } },
      );
    }
    try {
      unlinkSync(path); // a stale lock of a process that is gone
    } catch {
      // another process took it over first: the next attempt says who
    }
  }
  throw new ConfigError(`${database} is being locked by another process at the same moment; try again`);
}
