/**
 * Crash points for the fault tests: when `IOTRAIL_FAILPOINT` names a point, the process kills itself
 * (SIGKILL, no cleanup) the first time it reaches it. Unset, {@link failpoint} is a comparison against
 * undefined. The points are:
 *
 * - `ingest.before-write`: messages checked, their group commit not yet written;
 * - `ingest.after-write`: the group commit is durable, no answer sent yet;
 * - `seal.after-seal`: a batch was sealed and persisted, nothing sent yet;
 * - `anchor.after-broadcast`: the anchoring transaction was broadcast, its outcome not recorded;
 * - `anchor.confirming`: a batch is anchored and waits for confirmations.
 */
const ARMED = process.env.IOTRAIL_FAILPOINT;

export function failpoint(name: string): void {
  if (ARMED === name) process.kill(process.pid, "SIGKILL");
}
