/**
 * A {@link DeviceDirectory} backed by the DeviceRegistry: device states are looked up once per key and
 * cached, and the cache follows the registry's events (registration, claim, status change, key rotation,
 * lot status, lot entry revocation), read from the chain on a timer.
 *
 * Unclaimed lot entries are "unknown", unless the batcher holds the lot's entries (`lots`): then an entry of
 * such a lot is judged from the lot itself, with no registry read per key (a lot of a million devices costs
 * one commit and no lookups), as `lotEntryValidAt` judges it: active from the commit, until the lot or the
 * entry is revoked; once the key has a device record of its own (a claim from any lot, a registration, a
 * rotation to it), that record decides, whatever the lot says (N-M2: a rogue manufacturer's lot never
 * vouches for a key its owner revoked). Its bundles carry the entry's lot proof, which the verifier checks
 * against the chain.
 */
import type { Log, Provider } from "ethers";
import type { Logger } from "pino";
import { DeviceRegistry__factory } from "../../contracts";
import type { DeviceRegistry } from "../../contracts";
import { ConfigError } from "../../errors";
import { DeviceStatus, LotStatus } from "../../registry";
import type { LotIndex } from "../../registry";
import type { DeviceDirectory, DeviceState } from "./validate";

/**
 * The registry events that can change a known key's state; their topics come from the ABI. Each has the key
 * as its second indexed topic (a rotation: the old key, then the new one); `apply` relies on that order.
 */
const WATCHED_EVENTS = [
  "DeviceRegistered",
  "DeviceClaimed",
  "DeviceStatusChanged",
  "DeviceKeyRotated",
  "LotStatusChanged",
  "LotEntryRevoked",
] as const;

/** A lot whose unclaimed entries the directory judges itself (see the module comment). */
interface HeldLot {
  index: LotIndex;
  /** The lot's id as an ABI word (an event topic, without 0x). */
  word: string;
  revoked: boolean;
  /** Entries revoked within this lot. */
  revokedEntries: Set<string>;
}

/** An address or a uint256 as one ABI word (64 hex digits, no 0x). */
function word(value: string | bigint): string {
  return (typeof value === "bigint" ? value.toString(16) : value.slice(2).toLowerCase()).padStart(64, "0");
}

/** The `index`-th 32-byte word of an ABI-encoded answer. */
function wordAt(answer: string, index: number): bigint {
  const hex = answer.slice(2 + 64 * index, 2 + 64 * (index + 1));
  if (hex.length !== 64) throw new Error(`a registry answer of ${answer.length} characters is too short`);
  return BigInt(`0x${hex}`);
}

/** Blocks read again on each refresh, so that a short reorg cannot hide an event. */
const OVERLAP_BLOCKS = 12;

export interface RegistryDirectoryOptions {
  registry: string;
  provider: Provider;
  /** How long an "unknown" answer is trusted before the key is looked up again (ms; default 30 s). */
  unknownTtlMs?: number;
  /** How long a known state is trusted without a registry event before it is read again (ms; default 10 min). */
  knownTtlMs?: number;
  /** Most keys cached; the least recently used go first (default 100,000). */
  maxCachedKeys?: number;
  /** Most registry lookups at once (default 128; a batching provider sends them in a few requests). */
  maxConcurrentLookups?: number;
  /** Most lookups waiting; keys beyond it are answered "registry busy, retry later" (default 2,000). */
  maxQueuedLookups?: number;
  /** Blocks per `eth_getLogs` request (default 2,000; halved after each failure, down to 1). */
  logChunkBlocks?: number;
  /** Lots whose unclaimed entries are judged from the lot (see the module comment); {@link loadLots} first. */
  lots?: readonly LotIndex[];
  /**
   * The first block to read registry events from when lots are held (default 0): the registry's deployment
   * block, from its deployment record. Every key of a held lot that got a record of its own since is judged
   * by that record.
   */
  fromBlock?: number;
  logger?: Logger;
}

/** Learns device states before the synchronous device checks (a registry-backed directory looks keys up). */
export interface DevicePreparer {
  /** The keys (lower case) that must be looked up before they can be judged. */
  pending(devices: readonly string[]): Set<string>;
  /** Looks up what is not cached; resolves to the keys (lower case) whose lookup failed. */
  prepare(devices: readonly string[]): Promise<Set<string>>;
}

interface Entry {
  state: DeviceState;
  /** When the state was read; 0 marks it stale (read again on next use). */
  at: number;
}

export class RegistryDeviceDirectory implements DeviceDirectory, DevicePreparer {
  private readonly contract: DeviceRegistry;
  /** Insertion order is recency order: a use moves a key to the end; eviction takes from the front. */
  private readonly states = new Map<string, Entry>();
  private readonly lookups = new Map<string, Promise<void>>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private readonly topics: string[];
  private readonly selectors: { getKey: string; getDevice: string };
  private nextBlock: number | undefined;
  private chunkBlocks: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly lots: HeldLot[];
  /** Keys of held lots that have a device record of their own: the record decides, not the lot. */
  private readonly recorded = new Set<string>();

  constructor(private readonly options: RegistryDirectoryOptions) {
    this.contract = DeviceRegistry__factory.connect(options.registry, options.provider);
    this.topics = WATCHED_EVENTS.map((name) => this.contract.interface.getEvent(name).topicHash);
    this.selectors = {
      getKey: this.contract.interface.getFunction("getKey").selector,
      getDevice: this.contract.interface.getFunction("getDevice").selector,
    };
    this.chunkBlocks = options.logChunkBlocks ?? 2_000;
    this.lots = (options.lots ?? []).map((index) => ({
      index,
      word: word(index.lotId),
      revoked: false,
      revokedEntries: new Set(),
    }));
  }

  /**
   * Checks every held lot against the chain (committed, with the root its entries rebuild to) and reads what
   * happened to its entries since the commit (claims, entry revocations), so that {@link refresh} goes on
   * from the head. Throws a `ConfigError` for a lot that does not match.
   */
  async loadLots(): Promise<void> {
    if (this.lots.length === 0) return;
    const head = await this.options.provider.getBlockNumber();
    const [registeredTopic, claimedTopic, , rotatedTopic, , entryRevokedTopic] = this.topics;
    for (const lot of this.lots) {
      const info = await this.contract.getLot(lot.index.lotId, { blockTag: head });
      if (Number(info.status) === LotStatus.None) {
        throw new ConfigError(`lot ${lot.index.lotId} is not committed on this registry`);
      }
      if (info.root.toLowerCase() !== lot.index.root) {
        throw new ConfigError(
          `lot ${lot.index.lotId}: its entries rebuild to ${lot.index.root}, but the committed root is ${info.root}`,
        );
      }
      lot.revoked = Number(info.status) === LotStatus.Revoked;
    }
    // Records (registrations, claims from any lot, rotations) and entry revocations since the registry's
    // deployment: a record made before a lot's commit decides over that lot as much as one made after it.
    for (let start = this.options.fromBlock ?? 0; start <= head; start += this.chunkBlocks) {
      const end = Math.min(head, start + this.chunkBlocks - 1);
      const logs = await this.options.provider.getLogs({
        address: this.options.registry,
        topics: [[registeredTopic!, claimedTopic!, rotatedTopic!, entryRevokedTopic!]],
        fromBlock: start,
        toBlock: end,
      });
      this.applyLotEvents(logs);
    }
    for (const lot of this.lots) {
      this.options.logger?.info(
        {
          lotId: lot.index.lotId.toString(),
          entries: lot.index.size,
          withRecords: [...this.recorded].filter((key) => lot.index.has(key)).length,
          revoked: lot.revoked,
        },
        "lot held: its entries without a record of their own are judged from the lot",
      );
    }
    this.nextBlock = head + 1;
  }

  /** Records of held lots' keys and entry revocations, from registry logs. */
  private applyLotEvents(logs: readonly Log[]): void {
    const [registeredTopic, claimedTopic, , rotatedTopic, , entryRevokedTopic] = this.topics;
    const address = (topic: string) => `0x${topic.slice(26)}`.toLowerCase();
    for (const { topics } of logs) {
      const [topic, first, second, third] = topics;
      if (topic === registeredTopic || topic === claimedTopic || topic === rotatedTopic) {
        // The key a record now names: the second indexed topic (a rotation's new key: the third).
        const recordKey = topic === rotatedTopic ? third : second;
        if (recordKey === undefined) continue;
        const key = address(recordKey);
        if (this.lots.some((lot) => lot.index.has(key))) this.recorded.add(key);
      } else if (topic === entryRevokedTopic && first !== undefined && second !== undefined) {
        // LotEntryRevoked(lotId, key)
        const lot = this.lots.find((held) => held.word === first.slice(2));
        lot?.revokedEntries.add(address(second));
      }
    }
  }

  /**
   * The state of `key` (lower case) as a held lot judges it, or undefined when no held lot does (not an entry,
   * or a key with a record of its own: the record decides).
   */
  private lotState(key: string): DeviceState | undefined {
    if (this.recorded.has(key)) return undefined;
    for (const lot of this.lots) {
      if (!lot.index.has(key)) continue;
      return lot.revoked || lot.revokedEntries.has(key) ? "revoked" : "active";
    }
    return undefined;
  }

  state(device: string): DeviceState {
    const key = device.toLowerCase();
    if (this.lots.length > 0) {
      const held = this.lotState(key);
      if (held !== undefined) return held;
    }
    const entry = this.states.get(key);
    if (entry === undefined) return "unknown";
    this.states.delete(key);
    this.states.set(key, entry); // most recently used
    return entry.state;
  }

  /** The cached state of `device`, without counting as a use (for views). */
  peek(device: string): DeviceState {
    const key = device.toLowerCase();
    return (this.lots.length > 0 ? this.lotState(key) : undefined) ?? this.states.get(key)?.state ?? "unknown";
  }

  /** Number of keys cached (bounded by `maxCachedKeys`). */
  get size(): number {
    return this.states.size;
  }

  /** The keys (lower case) whose state must be read before they can be judged: not cached, or "unknown" and expired. */
  pending(devices: readonly string[]): Set<string> {
    const now = Date.now();
    const ttl = this.options.unknownTtlMs ?? 30_000;
    const wanted = new Set<string>();
    for (const device of devices) {
      const key = device.toLowerCase();
      if (this.lots.length > 0 && this.lotState(key) !== undefined) continue; // judged from the lot
      const cached = this.states.get(key);
      if (cached === undefined || (cached.state === "unknown" && now - cached.at > ttl)) wanted.add(key);
    }
    return wanted;
  }

  /**
   * Reads the keys that {@link pending} names (at most `maxConcurrentLookups` at once) and refreshes expired
   * known states in the background; resolves to the keys that could not be read now (registry unreachable,
   * or too many lookups waiting), whose senders should retry.
   */
  async prepare(devices: readonly string[]): Promise<Set<string>> {
    this.refreshExpired(devices);
    const wanted = this.pending(devices);
    const failed = new Set<string>();
    const queueLimit = this.options.maxQueuedLookups ?? 2_000;
    await Promise.all(
      [...wanted].map((key) => {
        if (!this.lookups.has(key) && this.waiting.length >= queueLimit) {
          failed.add(key);
          return undefined;
        }
        return this.lookup(key).catch((error: unknown) => {
          if (!this.states.has(key)) failed.add(key); // a stale cached state is still an answer
          this.options.logger?.warn({ key, err: String(error) }, "device lookup failed");
        });
      }),
    );
    return failed;
  }

  /** Known states past their TTL (or marked stale) are read again without holding up their readings. */
  private refreshExpired(devices: readonly string[]): void {
    const now = Date.now();
    const ttl = this.options.knownTtlMs ?? 600_000;
    for (const device of devices) {
      const key = device.toLowerCase();
      const cached = this.states.get(key);
      if (cached !== undefined && cached.state !== "unknown" && now - cached.at > ttl && !this.lookups.has(key)) {
        this.lookup(key).catch((error: unknown) =>
          this.options.logger?.warn({ key, err: String(error) }, "device refresh failed; the cached state stands"),
        );
      }
    }
  }

  /** Reads a key's state from the registry (queued behind `maxConcurrentLookups` running reads). */
  lookup(key: string): Promise<void> {
    const running = this.lookups.get(key);
    if (running !== undefined) return running;
    const job = this.slot()
      .then(() => this.read(key))
      .then((state) => this.remember(key, state))
      .finally(() => {
        this.lookups.delete(key);
        this.release();
      });
    this.lookups.set(key, job);
    return job;
  }

  private slot(): Promise<void> {
    if (this.running < (this.options.maxConcurrentLookups ?? 128)) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined)
      next(); // the slot passes on
    else this.running--;
  }

  private remember(key: string, state: DeviceState): void {
    this.states.delete(key);
    this.states.set(key, { state, at: Date.now() });
    const max = this.options.maxCachedKeys ?? 100_000;
    for (const oldest of this.states.keys()) {
      if (this.states.size <= max) break;
      this.states.delete(oldest);
    }
  }

  /**
   * A key's state from raw `eth_call`s, read by word (both answers are static structs; ethers' contract layer
   * costs more CPU than the rest of a lookup, and a fleet of new keys pays it per key). A device's id is its
   * first key, so `getDevice(key)` answers a key that was never rotated in one call: the common case. Other
   * keys (rotated, or unknown) take `getKey`, then `getDevice` of the id it names.
   */
  private async read(key: string): Promise<DeviceState> {
    const to = this.options.registry;
    const device = (id: string | bigint) =>
      this.options.provider.call({ to, data: this.selectors.getDevice + word(id) });
    // DeviceInfo(address owner, address pendingOwner, address currentKey, DeviceStatus status, uint16 reason,
    // uint48 registeredAt, bytes32 metadataHash)
    let info = await device(key);
    if (wordAt(info, 5) === 0n || wordAt(info, 2) !== BigInt(key)) {
      const keyInfo = await this.options.provider.call({ to, data: this.selectors.getKey + word(key) });
      // KeyInfo(uint256 deviceId, uint48 validFrom, uint48 validUntil)
      const deviceId = wordAt(keyInfo, 0);
      if (deviceId === 0n) return "unknown";
      if (wordAt(keyInfo, 2) !== 0n) return "retired";
      info = await device(deviceId);
    }
    switch (Number(wordAt(info, 3))) {
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

  /**
   * Reads the registry's events since the last refresh, in chunks of at most `logChunkBlocks` blocks, and
   * reads again the cached keys they touch. A lot's status change marks every cached state stale (read again
   * on next use) rather than reading them all now. A failed chunk halves the chunk size for the next try,
   * so a provider's block-range limit cannot stall the watcher for good.
   */
  async refresh(): Promise<void> {
    const head = await this.options.provider.getBlockNumber();
    if (this.nextBlock === undefined) {
      // The first refresh only sets the starting point: states are read on demand from then on.
      this.nextBlock = head + 1;
      return;
    }
    let from = Math.max(0, this.nextBlock - OVERLAP_BLOCKS);
    let refreshed = 0;
    while (from <= head) {
      const to = Math.min(head, from + this.chunkBlocks - 1);
      let logs;
      try {
        logs = await this.options.provider.getLogs({
          address: this.options.registry,
          topics: [this.topics],
          fromBlock: from,
          toBlock: to,
        });
      } catch (error) {
        this.chunkBlocks = Math.max(1, Math.floor(this.chunkBlocks / 2));
        throw error;
      }
      refreshed += await this.apply(logs);
      this.nextBlock = to + 1;
      from = to + 1;
    }
    if (refreshed > 0) this.options.logger?.debug({ keys: refreshed, toBlock: head }, "device states refreshed");
  }

  /** Applies one chunk of registry events; returns how many cached keys were read again. */
  private async apply(logs: readonly Log[]): Promise<number> {
    // Every watched event carries its keys as indexed topics (the second; a rotation's third too), so they are
    // read straight from the topics: a registration of a million devices is a million logs to skim, not decode.
    const touched = new Set<string>();
    const [, , , rotated, lotStatus, entryRevoked] = this.topics;
    if (this.lots.length > 0) this.applyLotEvents(logs);
    for (const { topics } of logs) {
      const [topic, , key, newKey] = topics;
      if (topic === lotStatus) {
        for (const entry of this.states.values()) entry.at = 0;
        // LotStatusChanged(lotId, status): a held lot's revocation ends its unclaimed entries.
        const lot = this.lots.find((held) => held.word === topics[1]?.slice(2));
        if (lot !== undefined && Number(BigInt(topics[2] ?? 0)) === LotStatus.Revoked) lot.revoked = true;
        continue;
      }
      if (topic === entryRevoked) continue; // an unclaimed entry has no record to read again
      if (key !== undefined) touched.add(`0x${key.slice(26)}`.toLowerCase());
      if (topic === rotated && newKey !== undefined) touched.add(`0x${newKey.slice(26)}`.toLowerCase());
    }
    const keys = [...touched].filter((key) => this.states.has(key));
    await Promise.all(keys.map((key) => this.lookup(key)));
    return keys.length;
  }

  /** Refreshes every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    const loop = () => {
      this.refresh()
        .catch((error: unknown) =>
          this.options.logger?.warn(
            { err: error, chunkBlocks: this.chunkBlocks },
            "registry refresh failed; will retry with smaller log ranges",
          ),
        )
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
