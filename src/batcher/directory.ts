/**
 * A {@link DeviceDirectory} backed by the DeviceRegistry: device states are looked up once per key and
 * cached, and the cache follows the registry's events (registration, claim, status change, key rotation,
 * lot status), read from the chain on a timer. Unclaimed lot entries are "unknown": the batcher cannot
 * see their lot proof, so such a device claims its entry before it reports.
 */
import type { Provider } from "ethers";
import type { Logger } from "pino";
import { DeviceRegistry__factory } from "../../typechain-types";
import type { DeviceRegistry } from "../../typechain-types";
import { DeviceStatus } from "../registry";
import type { DevicePreparer } from "./pipeline";
import type { DeviceDirectory, DeviceState } from "./validate";

/** The registry events that can change a key's state; their topics come from the ABI. */
const WATCHED_EVENTS = [
  "DeviceRegistered",
  "DeviceClaimed",
  "DeviceStatusChanged",
  "DeviceKeyRotated",
  "LotStatusChanged",
] as const;

/** Blocks read again on each refresh, so that a short reorg cannot hide an event. */
const OVERLAP_BLOCKS = 12;

export interface RegistryDirectoryOptions {
  registry: string;
  provider: Provider;
  /** How long an "unknown" answer is trusted before the key is looked up again (ms; default 30 s). */
  unknownTtlMs?: number;
  logger?: Logger;
}

export class RegistryDeviceDirectory implements DeviceDirectory, DevicePreparer {
  private readonly contract: DeviceRegistry;
  private readonly states = new Map<string, { state: DeviceState; at: number }>();
  private readonly lookups = new Map<string, Promise<void>>();
  private readonly topics: string[];
  private nextBlock: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RegistryDirectoryOptions) {
    this.contract = DeviceRegistry__factory.connect(options.registry, options.provider);
    this.topics = WATCHED_EVENTS.map((name) => this.contract.interface.getEvent(name).topicHash);
  }

  state(device: string): DeviceState {
    return this.states.get(device.toLowerCase())?.state ?? "unknown";
  }

  /** Looks up the keys not cached yet (and "unknown" answers older than the TTL); returns those that failed. */
  async prepare(devices: readonly string[]): Promise<Set<string>> {
    const ttl = this.options.unknownTtlMs ?? 30_000;
    const now = Date.now();
    const wanted = new Set<string>();
    for (const device of devices) {
      const key = device.toLowerCase();
      const cached = this.states.get(key);
      if (cached === undefined || (cached.state === "unknown" && now - cached.at > ttl)) wanted.add(key);
    }
    const failed = new Set<string>();
    await Promise.all(
      [...wanted].map((key) =>
        this.lookup(key).catch((error: unknown) => {
          if (!this.states.has(key)) failed.add(key); // a stale cached state is still an answer
          this.options.logger?.warn({ key, err: String(error) }, "device lookup failed");
        }),
      ),
    );
    return failed;
  }

  /** Reads a key's state from the registry now. */
  lookup(key: string): Promise<void> {
    const running = this.lookups.get(key);
    if (running !== undefined) return running;
    const job = this.read(key)
      .then((state) => void this.states.set(key, { state, at: Date.now() }))
      .finally(() => this.lookups.delete(key));
    this.lookups.set(key, job);
    return job;
  }

  private async read(key: string): Promise<DeviceState> {
    const info = await this.contract.getKey(key);
    if (info.deviceId === 0n) return "unknown";
    if (info.validUntil !== 0n) return "retired";
    const device = await this.contract.getDevice(info.deviceId);
    switch (Number(device.status)) {
      case DeviceStatus.Active:
        return "active";
      case DeviceStatus.Suspended:
        return "suspended";
      case DeviceStatus.Revoked:
        return "revoked";
      default:
        return "unknown";
    }
  }

  /** Reads the registry's events since the last refresh and looks up again every key they touch. */
  async refresh(): Promise<void> {
    const head = await this.options.provider.getBlockNumber();
    const from = Math.max(0, (this.nextBlock ?? head + 1) - OVERLAP_BLOCKS);
    if (this.nextBlock === undefined) {
      // The first refresh only sets the starting point: states are read on demand from then on.
      this.nextBlock = head + 1;
      return;
    }
    if (from > head) return;
    const logs = await this.options.provider.getLogs({
      address: this.options.registry,
      topics: [this.topics],
      fromBlock: from,
      toBlock: head,
    });
    const touched = new Set<string>();
    let everything = false;
    for (const log of logs) {
      const event = this.contract.interface.parseLog(log);
      if (event === null) continue;
      if (event.name === "LotStatusChanged") everything = true;
      for (const name of ["key", "oldKey", "newKey"]) {
        const value = (event.args as unknown as Record<string, unknown>)[name];
        if (typeof value === "string") touched.add(value.toLowerCase());
      }
    }
    const keys = everything ? [...this.states.keys()] : [...touched].filter((key) => this.states.has(key));
    await Promise.all(keys.map((key) => this.lookup(key)));
    if (keys.length > 0)
      this.options.logger?.info({ keys: keys.length, fromBlock: from, toBlock: head }, "device states refreshed");
    this.nextBlock = head + 1;
  }

  /** Refreshes every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    const loop = () => {
      this.refresh()
        .catch((error: unknown) => this.options.logger?.warn({ err: error }, "registry refresh failed; will retry"))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
