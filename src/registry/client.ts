/**
 * A typed client over the DeviceRegistry contract: parameter objects in, decoded results out, and custom
 * reverts decoded into {@link ContractRevertError}. Every owner action takes an optional `authorization`
 * (the owner's signature from {@link DeviceRegistryClient.authorize}); with it, the `...BySig` form is sent,
 * so any account can relay the action.
 */
import type {
  ContractRunner,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  LogDescription,
  Signer,
} from "ethers";
import { DeviceRegistry__factory } from "../contracts";
import type { DeviceRegistry } from "../contracts";
import { callDecoded, eventIn, eventsIn, readEip712Domain, sendDecoded } from "../contract-calls";
import { signRegistryAction } from "../eip712";
import type { Eip712Domain, OwnerAction, RegistryMessages } from "../eip712";

export enum DeviceStatus {
  None = 0,
  Active = 1,
  Suspended = 2,
  Revoked = 3,
}

export enum LotStatus {
  None = 0,
  Active = 1,
  Closed = 2,
  Revoked = 3,
}

/** An owner's signature over an action, for relaying. */
export interface Authorization {
  deadline: bigint;
  signature: string;
}

/** A possession proof by a key the registry does not know yet. */
export interface KeyProof {
  key: string;
  deadline: bigint;
  signature: string;
}

export interface RegisterParams {
  key: string;
  owner: string;
  metadataHash: string;
  metadataURI: string;
  deadline: bigint;
  /** The device key's `RegisterDevice` signature naming the submitting manufacturer as registrant. */
  signature: string;
}

export interface DeviceRecord {
  deviceId: bigint;
  owner: string;
  pendingOwner: string;
  currentKey: string;
  status: DeviceStatus;
  reason: number;
  registeredAt: bigint;
  metadataHash: string;
}

export interface KeyRecord {
  deviceId: bigint;
  validFrom: bigint;
  validUntil: bigint;
}

export interface LotRecord {
  lotId: bigint;
  root: string;
  manufacturer: string;
  owner: string;
  status: LotStatus;
  committedAt: bigint;
  endedAt: bigint;
  deviceCount: bigint;
}

export interface TxResult {
  receipt: ContractTransactionReceipt;
}

type RegistryEventName = Parameters<DeviceRegistry["interface"]["getEvent"]>[0];

type UnsignedMessage<A extends OwnerAction> = Omit<RegistryMessages[A], "nonce" | "deadline">;

export class DeviceRegistryClient {
  readonly contract: DeviceRegistry;
  private domainPromise: Promise<Eip712Domain> | undefined;

  constructor(params: { contract: DeviceRegistry }) {
    this.contract = params.contract;
  }

  static connect(params: { address: string; runner: ContractRunner }): DeviceRegistryClient {
    return new DeviceRegistryClient({ contract: DeviceRegistry__factory.connect(params.address, params.runner) });
  }

  /** A client for the same contract that sends from another account. */
  connect(runner: ContractRunner): DeviceRegistryClient {
    return new DeviceRegistryClient({ contract: this.contract.connect(runner) });
  }

  /** The contract's EIP-712 domain, read once from its ERC-5267 `eip712Domain()`. */
  domain(): Promise<Eip712Domain> {
    this.domainPromise ??= readEip712Domain(this.contract);
    return this.domainPromise;
  }

  nonce(account: string): Promise<bigint> {
    return this.call(() => this.contract.nonces(account));
  }

  /**
   * Signs an owner action so that anyone can submit it. Reads the signer's current nonce; the signature is
   * consumed by the first submission.
   */
  async authorize<A extends OwnerAction>(params: {
    signer: Signer;
    action: A;
    message: UnsignedMessage<A>;
    deadline: bigint;
  }): Promise<Authorization> {
    const nonce = await this.nonce(await params.signer.getAddress());
    const message = { ...params.message, nonce, deadline: params.deadline } as RegistryMessages[A];
    const signature = await signRegistryAction(params.signer, await this.domain(), params.action, message);
    return { deadline: params.deadline, signature };
  }

  // ------------------------------------------------------------------ registration and lots

  async register(params: RegisterParams): Promise<TxResult & { deviceId: bigint }> {
    const receipt = await this.send(() => this.contract.register(params));
    return { receipt, deviceId: this.event(receipt, "DeviceRegistered").args.deviceId as bigint };
  }

  async registerBatch(params: { registrations: RegisterParams[] }): Promise<TxResult & { deviceIds: bigint[] }> {
    const receipt = await this.send(() => this.contract.registerBatch(params.registrations));
    const deviceIds = this.events(receipt, "DeviceRegistered").map((log) => log.args.deviceId as bigint);
    return { receipt, deviceIds };
  }

  async commitLot(params: {
    root: string;
    owner: string;
    deviceCount: number;
    metadataURI?: string;
  }): Promise<TxResult & { lotId: bigint }> {
    const receipt = await this.send(() =>
      this.contract.commitLot(params.root, params.owner, params.deviceCount, params.metadataURI ?? ""),
    );
    return { receipt, lotId: this.event(receipt, "LotCommitted").args.lotId as bigint };
  }

  async closeLot(params: { lotId: bigint }): Promise<TxResult> {
    return { receipt: await this.send(() => this.contract.closeLot(params.lotId)) };
  }

  async revokeLot(params: { lotId: bigint; reason: number }): Promise<TxResult> {
    return { receipt: await this.send(() => this.contract.revokeLot(params.lotId, params.reason)) };
  }

  async claim(params: {
    lotId: bigint;
    metadataHash: string;
    proof: string[];
    keyProof: KeyProof;
  }): Promise<TxResult & { deviceId: bigint }> {
    const receipt = await this.send(() =>
      this.contract.claim(params.lotId, params.metadataHash, params.proof, params.keyProof),
    );
    return { receipt, deviceId: this.event(receipt, "DeviceClaimed").args.deviceId as bigint };
  }

  async revokeLotDevice(params: {
    lotId: bigint;
    key: string;
    metadataHash: string;
    proof: string[];
    reason: number;
  }): Promise<TxResult> {
    const { lotId, key, metadataHash, proof, reason } = params;
    return { receipt: await this.send(() => this.contract.revokeLotDevice(lotId, key, metadataHash, proof, reason)) };
  }

  // ------------------------------------------------------------------ owner actions

  async startTransfer(params: {
    deviceId: bigint;
    newOwner: string;
    authorization?: Authorization;
  }): Promise<TxResult> {
    const { deviceId, newOwner, authorization: auth } = params;
    return {
      receipt: await this.send(() =>
        auth
          ? this.contract.startTransferBySig(deviceId, newOwner, auth.deadline, auth.signature)
          : this.contract.startTransfer(deviceId, newOwner),
      ),
    };
  }

  async acceptTransfer(params: { deviceId: bigint; authorization?: Authorization }): Promise<TxResult> {
    const { deviceId, authorization: auth } = params;
    return {
      receipt: await this.send(() =>
        auth
          ? this.contract.acceptTransferBySig(deviceId, auth.deadline, auth.signature)
          : this.contract.acceptTransfer(deviceId),
      ),
    };
  }

  async suspend(params: { deviceId: bigint; reason: number; authorization?: Authorization }): Promise<TxResult> {
    const { deviceId, reason, authorization: auth } = params;
    return {
      receipt: await this.send(() =>
        auth
          ? this.contract.suspendBySig(deviceId, reason, auth.deadline, auth.signature)
          : this.contract.suspend(deviceId, reason),
      ),
    };
  }

  async resume(params: { deviceId: bigint; authorization?: Authorization }): Promise<TxResult> {
    const { deviceId, authorization: auth } = params;
    return {
      receipt: await this.send(() =>
        auth ? this.contract.resumeBySig(deviceId, auth.deadline, auth.signature) : this.contract.resume(deviceId),
      ),
    };
  }

  async revoke(params: { deviceId: bigint; reason: number; authorization?: Authorization }): Promise<TxResult> {
    const { deviceId, reason, authorization: auth } = params;
    return {
      receipt: await this.send(() =>
        auth
          ? this.contract.revokeBySig(deviceId, reason, auth.deadline, auth.signature)
          : this.contract.revoke(deviceId, reason),
      ),
    };
  }

  async rotateKey(params: { deviceId: bigint; newKey: KeyProof; authorization?: Authorization }): Promise<TxResult> {
    const { deviceId, newKey, authorization: auth } = params;
    return {
      receipt: await this.send(() =>
        auth
          ? this.contract.rotateKeyBySig(deviceId, newKey, auth.deadline, auth.signature)
          : this.contract.rotateKey(deviceId, newKey),
      ),
    };
  }

  // ------------------------------------------------------------------ views

  validAt(params: { key: string; timestamp: bigint }): Promise<boolean> {
    return this.call(() => this.contract.validAt(params.key, params.timestamp));
  }

  /** `validAt` at a registry moment (for example a batch's `anchoredMoment`). */
  validAtMoment(params: { key: string; moment: bigint }): Promise<boolean> {
    return this.call(() => this.contract.validAtMoment(params.key, params.moment));
  }

  /** The registry moment now (see `IDeviceRegistry.moment`). */
  moment(): Promise<bigint> {
    return this.call(() => this.contract.moment());
  }

  lotEntryValidAt(params: {
    lotId: bigint;
    key: string;
    metadataHash: string;
    proof: string[];
    timestamp: bigint;
  }): Promise<boolean> {
    const { lotId, key, metadataHash, proof, timestamp } = params;
    return this.call(() => this.contract.lotEntryValidAt(lotId, key, metadataHash, proof, timestamp));
  }

  async getKey(key: string): Promise<KeyRecord> {
    const record = await this.call(() => this.contract.getKey(key));
    return { deviceId: record.deviceId, validFrom: record.validFrom, validUntil: record.validUntil };
  }

  async getDevice(deviceId: bigint): Promise<DeviceRecord> {
    const d = await this.call(() => this.contract.getDevice(deviceId));
    return {
      deviceId,
      owner: d.owner,
      pendingOwner: d.pendingOwner,
      currentKey: d.currentKey,
      status: Number(d.status) as DeviceStatus,
      reason: Number(d.reason),
      registeredAt: d.registeredAt,
      metadataHash: d.metadataHash,
    };
  }

  async statusAt(params: { deviceId: bigint; timestamp: bigint }): Promise<DeviceStatus> {
    return Number(await this.call(() => this.contract.statusAt(params.deviceId, params.timestamp))) as DeviceStatus;
  }

  async getLot(lotId: bigint): Promise<LotRecord> {
    const lot = await this.call(() => this.contract.getLot(lotId));
    return {
      lotId,
      root: lot.root,
      manufacturer: lot.manufacturer,
      owner: lot.owner,
      status: Number(lot.status) as LotStatus,
      committedAt: lot.committedAt,
      endedAt: lot.endedAt,
      deviceCount: lot.deviceCount,
    };
  }

  lotCount(): Promise<bigint> {
    return this.call(() => this.contract.lotCount());
  }

  // ------------------------------------------------------------------ plumbing

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return callDecoded(this.contract.interface, fn);
  }

  private send(fn: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    return sendDecoded(this.contract.interface, fn);
  }

  private events(receipt: ContractTransactionReceipt, name: RegistryEventName): LogDescription[] {
    return eventsIn(this.contract, receipt, name);
  }

  private event(receipt: ContractTransactionReceipt, name: RegistryEventName): LogDescription {
    return eventIn(this.contract, receipt, name);
  }
}
