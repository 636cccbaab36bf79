/**
 * Signed receipts that bind a payment to what was served, in x402's `offer-receipt` extension form: an EIP-712
 * `Receipt` (x402's own types and domain, built and checked by `@x402/extensions/offer-receipt`) signed by the
 * seller's payee key, carried in the `PAYMENT-RESPONSE` header's `extensions["offer-receipt"].info.receipt`.
 *
 * x402's receipt names the payer, the network, the time, the transaction (for `exact`) and the resource URL.
 * iotrail binds the bundle served through that URL: its fragment is `iotrail-bundle=<keccak-256 of the exact
 * bytes served>`, and a fragment is never sent to a server, so the URL still names the resource. The bundle's
 * anchored roots are inside those bytes. One receipt and one bundle then prove what was paid, to whom, for
 * which bytes; the bundle's own verification proves the bytes genuine.
 */
import { getAddress, isAddress, keccak256, toUtf8Bytes } from "ethers";
import type { SettleResponse } from "@x402/core/types";
import {
  OFFER_RECEIPT,
  createReceiptEIP712,
  isEIP712SignedReceipt,
  verifyReceiptSignatureEIP712,
} from "@x402/extensions/offer-receipt";
import type { EIP712SignedReceipt, SignedReceipt } from "@x402/extensions/offer-receipt";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

const FRAGMENT = "iotrail-bundle=";

/** The keccak-256 of a bundle's exact bytes (UTF-8), as its receipt names it. */
export const bundleHash = (bundleText: string): string => keccak256(toUtf8Bytes(bundleText));

/** The resource URL a receipt names: the URL paid for, with the bundle's hash as its fragment. */
export function receiptResourceUrl(url: string, bundleText: string): string {
  return `${url.split("#")[0]}#${FRAGMENT}${bundleHash(bundleText)}`;
}

/** Signs receipts with the seller's payee key. */
export class ReceiptSigner {
  private readonly account: ReturnType<typeof privateKeyToAccount>;

  constructor(privateKey: string) {
    this.account = privateKeyToAccount(privateKey as Hex);
  }

  get address(): string {
    return this.account.address;
  }

  /** A receipt for `bundleText` served at `url` to `payer`, paid on `network` (by `transaction`, if one). */
  async sign(params: {
    url: string;
    bundleText: string;
    payer: string;
    network: string;
    transaction?: string;
  }): Promise<EIP712SignedReceipt> {
    return createReceiptEIP712(
      {
        resourceUrl: receiptResourceUrl(params.url, params.bundleText),
        payer: params.payer,
        network: params.network,
        ...(params.transaction === undefined || params.transaction === "" ? {} : { transaction: params.transaction }),
      },
      (typed) => this.account.signTypedData(typed as Parameters<typeof this.account.signTypedData>[0]),
    );
  }
}

/** A settlement response with its receipt, in x402's `offer-receipt` extension form. */
export function withReceipt(response: SettleResponse, receipt: SignedReceipt): SettleResponse {
  return { ...response, extensions: { ...response.extensions, [OFFER_RECEIPT]: { info: { receipt } } } };
}

/** The receipt in a settlement response, if it carries one. */
export function receiptOf(response: SettleResponse | undefined): SignedReceipt | undefined {
  const extension = response?.extensions?.[OFFER_RECEIPT] as { info?: { receipt?: SignedReceipt } } | undefined;
  return extension?.info?.receipt;
}

export interface ReceiptCheck {
  ok: boolean;
  /** Who signed it (recovered). */
  signer?: string;
  payer?: string;
  network?: string;
  resourceUrl?: string;
  transaction?: string;
  issuedAt?: number;
  /** Why it does not hold, one line each. */
  problems: string[];
}

/**
 * Checks a receipt against the bundle it came with and the seller the user trusts (never an address the
 * receipt or the bundle names): an EIP-712 receipt, signed by `seller`, naming exactly these bytes.
 */
export async function verifyReceipt(receipt: unknown, bundleText: string, seller: string): Promise<ReceiptCheck> {
  const problems: string[] = [];
  if (!isAddress(seller)) return { ok: false, problems: [`the seller ${seller} is not an address`] };
  const signed = receipt as SignedReceipt | undefined;
  if (typeof signed !== "object" || signed === null || !isEIP712SignedReceipt(signed)) {
    return { ok: false, problems: ["not an EIP-712 receipt of x402's offer-receipt extension"] };
  }
  let signer: string;
  try {
    signer = getAddress((await verifyReceiptSignatureEIP712(signed)).signer);
  } catch (error) {
    return { ok: false, problems: [`the signature does not recover: ${(error as Error).message}`] };
  }
  const { payload } = signed;
  if (signer !== getAddress(seller)) problems.push(`signed by ${signer}, not by the seller ${getAddress(seller)}`);
  const fragment = payload.resourceUrl.split("#")[1] ?? "";
  const named = fragment.startsWith(FRAGMENT) ? fragment.slice(FRAGMENT.length) : undefined;
  const served = bundleHash(bundleText);
  if (named === undefined)
    problems.push("the receipt names no bundle (no iotrail-bundle fragment in its resource URL)");
  else if (named.toLowerCase() !== served)
    problems.push(`the receipt is for bundle ${named}, this bundle is ${served}`);
  return {
    ok: problems.length === 0,
    signer,
    payer: payload.payer,
    network: payload.network,
    resourceUrl: payload.resourceUrl,
    ...(payload.transaction === undefined || payload.transaction === "" ? {} : { transaction: payload.transaction }),
    issuedAt: payload.issuedAt,
    problems,
  };
}
