/**
 * A typed client over the PaymentChannels contract: every action, with relayed forms for devices that
 * hold no ETH (the funder, payer or payee signs; any account submits). Reverts decode into
 * `ContractRevertError`.
 */
import { Contract, Signature, toBeHex } from "ethers";
import type { ContractRunner, ContractTransactionReceipt, Signer } from "ethers";
import { PaymentChannels__factory } from "../../contracts";
import type { PaymentChannels } from "../../contracts";
import { callDecoded, eventIn, readEip712Domain, sendDecoded } from "../../contract-calls";
import { InvalidInputError } from "../../errors";
import { RECEIVE_WITH_AUTHORIZATION_TYPES, channelIdOf, signPaymentAction } from "../../eip712";
import type { Eip712Domain, PaymentMessages } from "../../eip712";
import type { Authorization } from "../../registry";

export enum ChannelStatus {
  None = 0,
  Open = 1,
  Closing = 2,
  Closed = 3,
}

export const ETH = "0x0000000000000000000000000000000000000000";

const ZERO_SALT = `0x${"00".repeat(32)}`;

/** A channel id as shown and written: 0x and 64 hex digits (ids are hashes). */
export function formatChannelId(channelId: bigint): string {
  return toBeHex(channelId, 32);
}

export interface OpenChannelParams {
  payee: string;
  /** The device key that signs vouchers (an active registered device key). */
  signer: string;
  /** ERC-20 token, or {@link ETH}. */
  token: string;
  amount: bigint;
  /** Most the signer may ever authorize (0: the deposit). */
  cap?: bigint;
  /** Last chain time at which vouchers are accepted (0: none). */
  expiry?: bigint;
  /**
   * Tells apart channels with otherwise equal terms. Default: the smallest counter (0, 1, 2, … as a
   * bytes32) whose channel was never opened, so that a payer that lost its state finds its channels again
   * by recomputing their ids ({@link PaymentChannelsClient.recoverBySalt}).
   */
  salt?: string;
}

/** A channel's fixed terms, as `ChannelOpened` emitted them; the channel's id is their EIP-712 digest. */
export type ChannelTerms = PaymentMessages["Channel"];

/** One channel's latest voucher for {@link PaymentChannelsClient.claimMany}. */
export interface VoucherClaimInput {
  terms: ChannelTerms;
  amount: bigint;
  signature: string;
}

export interface ChannelRecord extends ChannelTerms {
  channelId: bigint;
  deposit: bigint;
  paid: bigint;
  closesAt: bigint;
  status: ChannelStatus;
}

/** EIP-2612 `Permit` typed-data types. */
export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

const PERMIT_ABI = [
  "function nonces(address owner) view returns (uint256)",
  "function eip712Domain() view returns (bytes1, string, string, uint256, address, bytes32, uint256[])",
];

/** The terms alone, from anything that carries them (an event's arguments, a channel record). */
export function channelTermsOf(source: ChannelTerms): ChannelTerms {
  const { payer, payee, signer, token, cap, expiry, salt } = source;
  return { payer, payee, signer, token, cap, expiry, salt };
}

/**
 * The terms of `channelId`: the `ChannelOpened` event whose terms hash to the id (the id is their digest, so
 * no other event can pass, and a log from a reorganized block carries the same terms).
 */
export async function readChannelTerms(
  contract: PaymentChannels,
  channelId: bigint,
  domain?: Eip712Domain,
): Promise<ChannelTerms> {
  const resolved = domain ?? (await readEip712Domain(contract));
  const events = await contract.queryFilter(contract.filters.ChannelOpened(channelId));
  for (const event of events) {
    const terms = channelTermsOf(event.args);
    if (channelIdOf(resolved, terms) === channelId) return terms;
  }
  throw new InvalidInputError(`no channel ${formatChannelId(channelId)}`, {
    details: { channelId: formatChannelId(channelId) },
  });
}

export class PaymentChannelsClient {
  readonly contract: PaymentChannels;
  private domainPromise: Promise<Eip712Domain> | undefined;

  constructor(params: { contract: PaymentChannels }) {
    this.contract = params.contract;
  }

  /** A channel's fixed terms, from its `ChannelOpened` event. */
  async terms(channelId: bigint): Promise<ChannelTerms> {
    return readChannelTerms(this.contract, channelId, await this.domain());
  }

  /** The id of the channel with these terms (opened or not), computed locally. */
  async channelId(terms: ChannelTerms): Promise<bigint> {
    return channelIdOf(await this.domain(), terms);
  }

  /**
   * Every channel whose payer or payee is `account`, found from the chain alone (for a payer or payee that
   * lost its local state): the `ChannelOpened` logs indexed by that address, each checked against its id,
   * with the channel's current state.
   */
  async recover(params: { payer?: string; payee?: string; fromBlock?: number }): Promise<ChannelRecord[]> {
    if ((params.payer === undefined) === (params.payee === undefined)) {
      throw new InvalidInputError("recover needs exactly one of payer or payee");
    }
    const domain = await this.domain();
    const filter = this.contract.filters.ChannelOpened(undefined, params.payer, params.payee);
    const events = await this.call(() => this.contract.queryFilter(filter, params.fromBlock ?? 0));
    const found = new Map<bigint, ChannelTerms>();
    for (const event of events) {
      const terms = channelTermsOf(event.args);
      const channelId = event.args.channelId as bigint;
      if (channelIdOf(domain, terms) === channelId) found.set(channelId, terms);
    }
    return Promise.all([...found].map(async ([channelId, terms]) => this.record(channelId, terms)));
  }

  static connect(params: { address: string; runner: ContractRunner }): PaymentChannelsClient {
    return new PaymentChannelsClient({ contract: PaymentChannels__factory.connect(params.address, params.runner) });
  }

  connect(runner: ContractRunner): PaymentChannelsClient {
    return new PaymentChannelsClient({ contract: this.contract.connect(runner) });
  }

  /** The domain vouchers and relayed actions are signed under (ERC-5267). */
  domain(): Promise<Eip712Domain> {
    this.domainPromise ??= readEip712Domain(this.contract);
    return this.domainPromise;
  }

  /** The smallest counter salt whose channel with these terms was never opened. */
  async freeSalt(payer: string, params: OpenChannelParams): Promise<string> {
    const terms = { payer, ...toOpenParams({ ...params, salt: ZERO_SALT }) };
    for (let counter = 0n; ; counter++) {
      const salt = toBeHex(counter, 32);
      const channelId = await this.channelId({ ...terms, salt });
      const { status } = await this.call(() => this.contract.getChannel(channelId));
      if (Number(status) === ChannelStatus.None) return salt;
    }
  }

  /**
   * The channels with these terms whose salts are counters 0, 1, 2, …, up to the first never opened: what a
   * payer that lost its state (and used default salts) recovers without reading logs.
   */
  async recoverBySalt(terms: Omit<ChannelTerms, "salt">): Promise<ChannelRecord[]> {
    const found: ChannelRecord[] = [];
    for (let counter = 0n; ; counter++) {
      const full = { ...terms, salt: toBeHex(counter, 32) };
      const record = await this.record(await this.channelId(full), full);
      if (record.status === ChannelStatus.None) return found;
      found.push(record);
    }
  }

  async open(params: OpenChannelParams): Promise<{ channelId: bigint; receipt: ContractTransactionReceipt }> {
    const value = params.token === ETH ? params.amount : 0n;
    const payer = await this.payerAddress();
    const open = toOpenParams({ ...params, salt: params.salt ?? (await this.freeSalt(payer, params)) });
    const receipt = await this.send(() => this.contract.open(open, { value }));
    return { channelId: eventIn(this.contract, receipt, "ChannelOpened").args.channelId as bigint, receipt };
  }

  /** The funder's signatures for {@link openBySig}: `OpenChannel` and an EIP-2612 permit of the deposit. */
  async authorizeOpen(params: { funder: Signer; channel: OpenChannelParams; deadline: bigint }) {
    const funder = await params.funder.getAddress();
    const nonce = await this.call(() => this.contract.nonces(funder));
    const channel = toOpenParams({
      ...params.channel,
      salt: params.channel.salt ?? (await this.freeSalt(funder, params.channel)),
    });
    const signature = await signPaymentAction(params.funder, await this.domain(), "OpenChannel", {
      funder,
      payee: channel.payee,
      signer: channel.signer,
      token: channel.token,
      amount: channel.amount,
      cap: channel.cap,
      expiry: channel.expiry,
      salt: channel.salt,
      nonce,
      deadline: params.deadline,
    });
    const permit = await signPermit({
      owner: params.funder,
      token: channel.token,
      spender: String(this.contract.target),
      value: channel.amount,
      deadline: params.deadline,
    });
    return { funder, deadline: params.deadline, signature, permit, salt: channel.salt };
  }

  /**
   * The funder's EIP-3009 `ReceiveWithAuthorization` of the deposit to this contract, whose nonce is the
   * channel's id: one token signature that commits the funder to every term (for {@link openWithAuthorization}).
   */
  async authorizeOpenWithAuthorization(params: {
    funder: Signer;
    channel: OpenChannelParams;
    validBefore: bigint;
    validAfter?: bigint;
  }) {
    const funder = await params.funder.getAddress();
    const channel = toOpenParams({
      ...params.channel,
      salt: params.channel.salt ?? (await this.freeSalt(funder, params.channel)),
    });
    const channelId = await this.channelId({ payer: funder, ...channel });
    const token = new Contract(channel.token, PERMIT_ABI, params.funder);
    const domain = await readEip712Domain(token as unknown as Parameters<typeof readEip712Domain>[0]);
    const validAfter = params.validAfter ?? 0n;
    const signature = Signature.from(
      await params.funder.signTypedData(
        domain,
        { ReceiveWithAuthorization: [...RECEIVE_WITH_AUTHORIZATION_TYPES.ReceiveWithAuthorization] },
        {
          from: funder,
          to: String(this.contract.target),
          value: channel.amount,
          validAfter,
          validBefore: params.validBefore,
          nonce: toBeHex(channelId, 32),
        },
      ),
    );
    return {
      funder,
      channelId,
      salt: channel.salt,
      authorization: { validAfter, validBefore: params.validBefore, v: signature.v, r: signature.r, s: signature.s },
    };
  }

  /** Opens a channel funded by an EIP-3009 authorization; any account submits. */
  async openWithAuthorization(params: {
    channel: OpenChannelParams;
    authorization: Awaited<ReturnType<PaymentChannelsClient["authorizeOpenWithAuthorization"]>>;
  }): Promise<{ channelId: bigint; receipt: ContractTransactionReceipt }> {
    const { funder, salt, authorization } = params.authorization;
    const channel = toOpenParams({ ...params.channel, salt });
    const receipt = await this.send(() => this.contract.openWithAuthorization(funder, channel, authorization));
    return { channelId: eventIn(this.contract, receipt, "ChannelOpened").args.channelId as bigint, receipt };
  }

  /** Opens a channel for a funder without a transaction of its own; any account submits. */
  async openBySig(params: {
    channel: OpenChannelParams;
    authorization: Awaited<ReturnType<PaymentChannelsClient["authorizeOpen"]>>;
  }): Promise<{ channelId: bigint; receipt: ContractTransactionReceipt }> {
    const { funder, deadline, signature, permit, salt } = params.authorization;
    const receipt = await this.send(() =>
      this.contract.openBySig(funder, toOpenParams({ ...params.channel, salt }), deadline, signature, permit),
    );
    return { channelId: eventIn(this.contract, receipt, "ChannelOpened").args.channelId as bigint, receipt };
  }

  async topUp(params: { channelId: bigint; amount: bigint }): Promise<ContractTransactionReceipt> {
    const terms = await this.terms(params.channelId);
    const value = terms.token === ETH ? params.amount : 0n;
    return this.send(() => this.contract.topUp(terms, params.amount, { value }));
  }

  /** Redeems a voucher; anyone may submit it, the payee is paid. */
  async redeem(params: { channelId: bigint; amount: bigint; signature: string }): Promise<ContractTransactionReceipt> {
    const terms = await this.terms(params.channelId);
    return this.send(() => this.contract.redeem(terms, params.amount, params.signature));
  }

  /**
   * Claims the latest vouchers of many channels of one payee and token in one transaction, with one payout
   * to the payee. Anyone may submit. Vouchers already paid are skipped by the contract.
   */
  async claimMany(params: { claims: VoucherClaimInput[] }): Promise<ContractTransactionReceipt> {
    const first = params.claims[0];
    if (first === undefined) throw new InvalidInputError("claimMany needs at least one claim");
    const { payee, token } = first.terms;
    for (const { terms } of params.claims) {
      if (terms.payee.toLowerCase() !== payee.toLowerCase() || terms.token.toLowerCase() !== token.toLowerCase()) {
        throw new InvalidInputError("claimMany claims must share one payee and one token", {
          details: { payee, token, other: { payee: terms.payee, token: terms.token } },
        });
      }
    }
    const claims = params.claims.map(toVoucherClaim);
    return this.send(() => this.contract.claimMany(payee, token, claims));
  }

  /** Closes as the payee (`amount` 0: at what was paid). With `authorization`, any account relays it. */
  async close(params: {
    channelId: bigint;
    amount: bigint;
    signature: string;
    authorization?: Authorization;
  }): Promise<ContractTransactionReceipt> {
    const { channelId, amount, signature, authorization } = params;
    const terms = await this.terms(channelId);
    return this.send(() =>
      authorization === undefined
        ? this.contract.close(terms, amount, signature)
        : this.contract.closeBySig(terms, amount, signature, authorization.deadline, authorization.signature),
    );
  }

  /** The payee's `CloseChannel` signature for a relayed close. */
  async authorizeClose(params: { payee: Signer; channelId: bigint; amount: bigint; deadline: bigint }) {
    const nonce = await this.call(async () => this.contract.nonces(await params.payee.getAddress()));
    const signature = await signPaymentAction(params.payee, await this.domain(), "CloseChannel", {
      channelId: params.channelId,
      amount: params.amount,
      nonce,
      deadline: params.deadline,
    });
    return { deadline: params.deadline, signature };
  }

  /** Starts the payer's close. With `authorization`, any account relays it. */
  async startClose(params: { channelId: bigint; authorization?: Authorization }): Promise<ContractTransactionReceipt> {
    const { channelId, authorization } = params;
    const terms = await this.terms(channelId);
    return this.send(() =>
      authorization === undefined
        ? this.contract.startClose(terms)
        : this.contract.startCloseBySig(terms, authorization.deadline, authorization.signature),
    );
  }

  async authorizeStartClose(params: { payer: Signer; channelId: bigint; deadline: bigint }) {
    const nonce = await this.call(async () => this.contract.nonces(await params.payer.getAddress()));
    const signature = await signPaymentAction(params.payer, await this.domain(), "StartClose", {
      channelId: params.channelId,
      nonce,
      deadline: params.deadline,
    });
    return { deadline: params.deadline, signature };
  }

  async finalize(params: { channelId: bigint }): Promise<ContractTransactionReceipt> {
    const terms = await this.terms(params.channelId);
    return this.send(() => this.contract.finalize(terms));
  }

  withdraw(params: { token: string; to: string }): Promise<ContractTransactionReceipt> {
    return this.send(() => this.contract.withdraw(params.token, params.to));
  }

  /** A channel's terms and state. */
  async getChannel(channelId: bigint): Promise<ChannelRecord> {
    return this.record(channelId, await this.terms(channelId));
  }

  /**
   * Signs a voucher for the cumulative `amount` on `channelId` with the channel's signer `key`, after checking
   * the channel: the key must be its signer, and the amount within its deposit and cap. A voucher above the
   * deposit cannot be redeemed now, but becomes redeemable the moment anyone tops the channel up, so it is a
   * promise the device did not mean to make: refused unless `allowAboveDeposit` (the cap is never exceeded).
   */
  async signVoucher(
    key: { address: string; signVoucher(domain: Eip712Domain, channelId: bigint, amount: bigint): string },
    channelId: bigint,
    amount: bigint,
    options: { allowAboveDeposit?: boolean } = {},
  ): Promise<string> {
    const record = await this.getChannel(channelId);
    if (key.address.toLowerCase() !== record.signer.toLowerCase()) {
      throw new InvalidInputError(
        `channel ${formatChannelId(channelId)} takes vouchers from ${record.signer}, not ${key.address}`,
      );
    }
    if (record.cap !== 0n && amount > record.cap) {
      throw new InvalidInputError(`a voucher for ${amount} exceeds the channel's cap of ${record.cap}`, {
        details: { amount: amount.toString(), cap: record.cap.toString() },
      });
    }
    if (amount > record.deposit && options.allowAboveDeposit !== true) {
      throw new InvalidInputError(
        `a voucher for ${amount} exceeds the channel's deposit of ${record.deposit}: it would become redeemable as soon as anyone tops the channel up`,
        { details: { amount: amount.toString(), deposit: record.deposit.toString(), code: "ABOVE_DEPOSIT" } },
      );
    }
    return key.signVoucher(await this.domain(), channelId, amount);
  }

  private async record(channelId: bigint, terms: ChannelTerms): Promise<ChannelRecord> {
    const c = await this.call(() => this.contract.getChannel(channelId));
    return {
      channelId,
      ...terms,
      deposit: c.deposit,
      paid: c.paid,
      closesAt: c.closesAt,
      status: Number(c.status) as ChannelStatus,
    };
  }

  private async payerAddress(): Promise<string> {
    const runner = this.contract.runner as Signer | null;
    if (runner === null || typeof runner.getAddress !== "function") {
      throw new InvalidInputError("opening a channel needs a signer");
    }
    return runner.getAddress();
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return callDecoded(this.contract.interface, fn);
  }

  private send(fn: Parameters<typeof sendDecoded>[1]): Promise<ContractTransactionReceipt> {
    return sendDecoded(this.contract.interface, fn);
  }
}

/** A claim as `claimMany` takes it: the terms but payee and token, and the voucher's signature in EIP-2098 form. */
export function toVoucherClaim({ terms, amount, signature }: VoucherClaimInput) {
  const compact = Signature.from(signature);
  return {
    payer: terms.payer,
    signer: terms.signer,
    cap: terms.cap,
    expiry: terms.expiry,
    salt: terms.salt,
    amount,
    r: compact.r,
    vs: compact.yParityAndS,
  };
}

function toOpenParams(params: OpenChannelParams) {
  return {
    payee: params.payee,
    signer: params.signer,
    token: params.token,
    amount: params.amount,
    cap: params.cap ?? 0n,
    expiry: params.expiry ?? 0n,
    salt: params.salt ?? ZERO_SALT,
  };
}

/** An EIP-2612 permit signed by `owner` for `spender`, read from the token's own domain and nonce. */
export async function signPermit(params: {
  owner: Signer;
  token: string;
  spender: string;
  value: bigint;
  deadline: bigint;
}): Promise<{ deadline: bigint; v: number; r: string; s: string }> {
  const token = new Contract(params.token, PERMIT_ABI, params.owner);
  const owner = await params.owner.getAddress();
  const [nonce, domain] = await Promise.all([
    token.getFunction("nonces")(owner) as Promise<bigint>,
    readEip712Domain(token as unknown as Parameters<typeof readEip712Domain>[0]),
  ]);
  const signature = Signature.from(
    await params.owner.signTypedData(domain, PERMIT_TYPES, {
      owner,
      spender: params.spender,
      value: params.value,
      nonce,
      deadline: params.deadline,
    }),
  );
  return { deadline: params.deadline, v: signature.v, r: signature.r, s: signature.s };
}
