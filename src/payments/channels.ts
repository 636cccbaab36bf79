/**
 * A typed client over the PaymentChannels contract: every action, with relayed forms for devices that
 * hold no ETH (the funder, payer or payee signs; any account submits). Reverts decode into
 * `ContractRevertError`.
 */
import { AbiCoder, Contract, Signature, keccak256 } from "ethers";
import type { ContractRunner, ContractTransactionReceipt, Signer } from "ethers";
import { PaymentChannels__factory } from "../contracts";
import type { PaymentChannels } from "../contracts";
import { callDecoded, eventIn, readEip712Domain, sendDecoded } from "../contract-calls";
import { InvalidInputError } from "../errors";
import { signPaymentAction } from "../eip712";
import type { Eip712Domain } from "../eip712";
import type { Authorization } from "../registry";

export enum ChannelStatus {
  None = 0,
  Open = 1,
  Closing = 2,
  Closed = 3,
}

export const ETH = "0x0000000000000000000000000000000000000000";

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
}

/** A channel's fixed terms, as `ChannelOpened` emitted them (the contract stores their hash). */
export interface ChannelTerms {
  payer: string;
  payee: string;
  signer: string;
  token: string;
  cap: bigint;
  expiry: bigint;
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

/** keccak256(abi.encode(terms)): the hash the contract stores a channel's terms as. */
export function channelTermsHash(terms: ChannelTerms): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["address", "address", "address", "address", "uint96", "uint48"],
      [terms.payer, terms.payee, terms.signer, terms.token, terms.cap, terms.expiry],
    ),
  );
}

/**
 * The terms of `channelId`: the `ChannelOpened` event whose terms hash to what the contract stores (so a
 * reorganized or reverted chain never yields stale terms).
 */
export async function readChannelTerms(contract: PaymentChannels, channelId: bigint): Promise<ChannelTerms> {
  const { termsHash } = await contract.getChannel(channelId);
  const events = await contract.queryFilter(contract.filters.ChannelOpened(channelId));
  for (const event of events) {
    const { payer, payee, signer, token, cap, expiry } = event.args;
    const terms = { payer, payee, signer, token, cap, expiry };
    if (channelTermsHash(terms) === termsHash) return terms;
  }
  throw new InvalidInputError(`no channel ${channelId}`, { details: { channelId: channelId.toString() } });
}

export class PaymentChannelsClient {
  readonly contract: PaymentChannels;
  private domainPromise: Promise<Eip712Domain> | undefined;

  constructor(params: { contract: PaymentChannels }) {
    this.contract = params.contract;
  }

  /** A channel's fixed terms, from its `ChannelOpened` event. */
  terms(channelId: bigint): Promise<ChannelTerms> {
    return readChannelTerms(this.contract, channelId);
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

  async open(params: OpenChannelParams): Promise<{ channelId: bigint; receipt: ContractTransactionReceipt }> {
    const value = params.token === ETH ? params.amount : 0n;
    const receipt = await this.send(() => this.contract.open(toOpenParams(params), { value }));
    return { channelId: eventIn(this.contract, receipt, "ChannelOpened").args.channelId as bigint, receipt };
  }

  /** The funder's signatures for {@link openBySig}: `OpenChannel` and an EIP-2612 permit of the deposit. */
  async authorizeOpen(params: { funder: Signer; channel: OpenChannelParams; deadline: bigint }) {
    const funder = await params.funder.getAddress();
    const nonce = await this.call(() => this.contract.nonces(funder));
    const channel = toOpenParams(params.channel);
    const signature = await signPaymentAction(params.funder, await this.domain(), "OpenChannel", {
      funder,
      payee: channel.payee,
      signer: channel.signer,
      token: channel.token,
      amount: channel.amount,
      cap: channel.cap,
      expiry: channel.expiry,
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
    return { funder, deadline: params.deadline, signature, permit };
  }

  /** Opens a channel for a funder without a transaction of its own; any account submits. */
  async openBySig(params: {
    channel: OpenChannelParams;
    authorization: Awaited<ReturnType<PaymentChannelsClient["authorizeOpen"]>>;
  }): Promise<{ channelId: bigint; receipt: ContractTransactionReceipt }> {
    const { funder, deadline, signature, permit } = params.authorization;
    const receipt = await this.send(() =>
      this.contract.openBySig(funder, toOpenParams(params.channel), deadline, signature, permit),
    );
    return { channelId: eventIn(this.contract, receipt, "ChannelOpened").args.channelId as bigint, receipt };
  }

  async topUp(params: { channelId: bigint; amount: bigint }): Promise<ContractTransactionReceipt> {
    const terms = await this.terms(params.channelId);
    const value = terms.token === ETH ? params.amount : 0n;
    return this.send(() => this.contract.topUp(params.channelId, terms, params.amount, { value }));
  }

  /** Redeems a voucher; anyone may submit it, the payee is paid. */
  async redeem(params: { channelId: bigint; amount: bigint; signature: string }): Promise<ContractTransactionReceipt> {
    const terms = await this.terms(params.channelId);
    return this.send(() => this.contract.redeem(params.channelId, terms, params.amount, params.signature));
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
        ? this.contract.close(channelId, terms, amount, signature)
        : this.contract.closeBySig(
            channelId,
            terms,
            amount,
            signature,
            authorization.deadline,
            authorization.signature,
          ),
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
        ? this.contract.startClose(channelId, terms)
        : this.contract.startCloseBySig(channelId, terms, authorization.deadline, authorization.signature),
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
    return this.send(() => this.contract.finalize(params.channelId, terms));
  }

  withdraw(params: { token: string; to: string }): Promise<ContractTransactionReceipt> {
    return this.send(() => this.contract.withdraw(params.token, params.to));
  }

  /** A channel's terms and state. */
  async getChannel(channelId: bigint): Promise<ChannelRecord> {
    const [terms, c] = await Promise.all([this.terms(channelId), this.call(() => this.contract.getChannel(channelId))]);
    return {
      channelId,
      ...terms,
      deposit: c.deposit,
      paid: c.paid,
      closesAt: c.closesAt,
      status: Number(c.status) as ChannelStatus,
    };
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return callDecoded(this.contract.interface, fn);
  }

  private send(fn: Parameters<typeof sendDecoded>[1]): Promise<ContractTransactionReceipt> {
    return sendDecoded(this.contract.interface, fn);
  }
}

function toOpenParams(params: OpenChannelParams) {
  return {
    payee: params.payee,
    signer: params.signer,
    token: params.token,
    amount: params.amount,
    cap: params.cap ?? 0n,
    expiry: params.expiry ?? 0n,
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
