/**
 * A device's secp256k1 key and the possession proofs it signs. Signing is synchronous and local: a
 * device never needs a provider.
 */
import { promises as fs } from "node:fs";
import {
  Wallet,
  SigningKey,
  decryptKeystoreJson,
  encryptKeystoreJson,
  getBytes,
  hexlify,
  isHexString,
  isKeystoreJson,
} from "ethers";
import type { Provider } from "ethers";
import { InvalidInputError } from "../errors";
import { signDigest } from "../crypto";
import { brokerLoginDigest, formatBrokerPassword, readingDigest, registryDigest, voucherDigestBytes } from "../eip712";
import type { Eip712Domain, Reading, RegistryMessages } from "../eip712";

/** Format version of a saved key file. */
export const DEVICE_KEY_FILE_VERSION = 1;

interface DeviceKeyFile {
  version: number;
  address: string;
  privateKey: string;
}

export interface RegistrationProofParams {
  domain: Eip712Domain;
  /** The manufacturer account that will submit the registration. */
  registrant: string;
  owner: string;
  /** The device key's registry nonce (0 for a new key). */
  nonce?: bigint;
  deadline: bigint;
}

export interface ClaimProofParams {
  domain: Eip712Domain;
  lotId: bigint;
  nonce?: bigint;
  deadline: bigint;
}

export interface KeyAcceptanceParams {
  domain: Eip712Domain;
  deviceId: bigint;
  nonce?: bigint;
  deadline: bigint;
}

export class DeviceKey {
  private readonly signingKey: SigningKey;
  private readonly privateKeyBytes: Uint8Array;
  readonly address: string;

  private constructor(signingKey: SigningKey) {
    this.signingKey = signingKey;
    this.privateKeyBytes = getBytes(signingKey.privateKey);
    this.address = new Wallet(signingKey).address;
  }

  static generate(): DeviceKey {
    return new DeviceKey(new SigningKey(Wallet.createRandom().privateKey));
  }

  static fromPrivateKey(privateKey: string): DeviceKey {
    if (typeof privateKey !== "string") throw new InvalidInputError("a device private key is 32 bytes of hex");
    const hex = privateKey.startsWith("0x") ? privateKey : `0x${privateKey}`;
    if (!isHexString(hex, 32)) throw new InvalidInputError("a device private key is 32 bytes of hex");
    try {
      return new DeviceKey(new SigningKey(hex));
    } catch {
      // No cause: nothing of the key may reach an error message or a log (P-L3).
      throw new InvalidInputError("not a valid secp256k1 private key");
    }
  }

  /**
   * Loads a key file: iotrail's plaintext format ({@link DeviceKey.save}), or an encrypted Web3 Secret
   * Storage keystore ({@link DeviceKey.saveEncrypted}, geth, or any wallet), whose password comes from
   * `IOTRAIL_KEY_PASSWORD`, else the file named by `IOTRAIL_KEY_PASSWORD_FILE`, else `options.password` (the
   * CLI's prompt on a terminal).
   */
  static async load(path: string, options: { password?: () => Promise<string> } = {}): Promise<DeviceKey> {
    let text: string;
    try {
      text = await fs.readFile(path, "utf8");
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      throw new InvalidInputError(
        code === "ENOENT" ? `no key file at ${path}` : `cannot read the key file ${path} (${code ?? "error"})`,
        { cause, details: { path } },
      );
    }
    warnIfLoose(path, (await fs.stat(path)).mode);
    if (isKeystoreJson(text)) return DeviceKey.fromKeystore(path, text, options.password);
    let parsed: DeviceKeyFile;
    try {
      parsed = JSON.parse(text) as DeviceKeyFile;
    } catch {
      // No cause, and nothing of the text: JSON.parse's message quotes the file's first characters (P-L3).
      const rawHex = /^\s*(0x)?[0-9a-fA-F]{64}\s*$/.test(text);
      throw new InvalidInputError(
        `${path} is not a key file (a JSON file with version, address and privateKey)` +
          (rawHex ? "; it holds a bare private key: make key files with `iotrail devices keygen`" : ""),
        { details: { path } },
      );
    }
    if (typeof parsed !== "object" || parsed === null) {
      throw new InvalidInputError(`${path} is not a key file (a JSON object with version, address and privateKey)`, {
        details: { path },
      });
    }
    if (parsed.version !== DEVICE_KEY_FILE_VERSION) {
      throw new InvalidInputError(`unsupported device key file version ${String(parsed.version)}`, {
        details: { path, version: parsed.version, supported: DEVICE_KEY_FILE_VERSION },
      });
    }
    const key = DeviceKey.fromPrivateKey(parsed.privateKey);
    if (key.address !== parsed.address) {
      throw new InvalidInputError("device key file: address does not match the private key", { details: { path } });
    }
    return key;
  }

  private static async fromKeystore(
    path: string,
    text: string,
    asked: (() => Promise<string>) | undefined,
  ): Promise<DeviceKey> {
    const password = await keystorePassword(path, asked);
    let account: { privateKey: string };
    try {
      account = await decryptKeystoreJson(text, password);
    } catch (cause) {
      throw new InvalidInputError(`${path}: wrong password for this keystore, or a damaged keystore`, {
        cause,
        details: { path },
      });
    }
    return DeviceKey.fromPrivateKey(account.privateKey);
  }

  /**
   * Writes the key to `path` as an encrypted Web3 Secret Storage keystore (scrypt, AES-128-CTR; ethers'
   * `encryptKeystoreJson`), readable by the owner only. Refuses to overwrite an existing file.
   */
  async saveEncrypted(path: string, password: string): Promise<void> {
    if (password.length < 8) throw new InvalidInputError("a keystore password has at least 8 characters");
    const json = await encryptKeystoreJson({ address: this.address, privateKey: this.signingKey.privateKey }, password);
    try {
      await fs.writeFile(path, `${json}\n`, { mode: 0o600, flag: "wx" });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "EEXIST") {
        throw new InvalidInputError(`${path} exists already: a key file is never overwritten`, { details: { path } });
      }
      throw new InvalidInputError(`cannot write the key file ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** An ethers Wallet over this key (to send transactions from it); the key itself is never exposed. */
  wallet(provider?: Provider | null): Wallet {
    return new Wallet(this.signingKey, provider);
  }

  /** Writes the key to `path`, readable by the owner only. Refuses to overwrite an existing file. */
  async save(path: string): Promise<void> {
    const file: DeviceKeyFile = {
      version: DEVICE_KEY_FILE_VERSION,
      address: this.address,
      privateKey: this.signingKey.privateKey,
    };
    try {
      await fs.writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "EEXIST") {
        throw new InvalidInputError(`${path} exists already: a key file is never overwritten`, { details: { path } });
      }
      throw new InvalidInputError(`cannot write the key file ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Signs an EIP-712 digest (65-byte r || s || v signature, low s), natively where the binding loads. */
  signDigest(digest: string): string {
    return hexlify(this.signDigestBytes(getBytes(digest)));
  }

  /** {@link signDigest} on bytes, for hot paths (thousands of vouchers per second). */
  signDigestBytes(digest: Uint8Array): Uint8Array {
    return signDigest(digest, this.privateKeyBytes);
  }

  /** Proof for `register`: binds this key to the registrant that submits it and the owner it names. */
  signRegistration(params: RegistrationProofParams): string {
    return this.sign(params.domain, "RegisterDevice", {
      key: this.address,
      registrant: params.registrant,
      owner: params.owner,
      nonce: params.nonce ?? 0n,
      deadline: params.deadline,
    });
  }

  /** Proof for `claim`: binds this key to a lot. */
  signClaim(params: ClaimProofParams): string {
    return this.sign(params.domain, "ClaimDevice", {
      key: this.address,
      lotId: params.lotId,
      nonce: params.nonce ?? 0n,
      deadline: params.deadline,
    });
  }

  /** Proof for `rotateKey`: this (new) key accepts to become the key of `deviceId`. */
  signKeyAcceptance(params: KeyAcceptanceParams): string {
    return this.sign(params.domain, "AcceptKey", {
      key: this.address,
      deviceId: params.deviceId,
      nonce: params.nonce ?? 0n,
      deadline: params.deadline,
    });
  }

  /**
   * Signs a telemetry reading under the TelemetryAnchor's domain (see `telemetryDomain`). The reading's
   * `device` must be this key.
   */
  signReading(domain: Eip712Domain, reading: Reading): string {
    if (reading.device.toLowerCase() !== this.address.toLowerCase()) {
      throw new InvalidInputError("a device signs only its own readings", {
        details: { device: reading.device, key: this.address },
      });
    }
    return this.signDigest(readingDigest(domain, reading));
  }

  /**
   * Signs a payment-channel voucher for the cumulative `amount` owed on `channelId`, under the
   * PaymentChannels domain (see `paymentsDomain`). Each voucher supersedes the previous ones.
   */
  signVoucher(domain: Eip712Domain, channelId: bigint, amount: bigint): string {
    return hexlify(this.signDigestBytes(voucherDigestBytes(domain, channelId, amount)));
  }

  /**
   * Credentials for the batcher's embedded MQTT broker: the device address as username and client id, and
   * as password a `BrokerLogin` signature under the readings' domain at `timestamp` (default: now), good
   * for one connection within the broker's clock-skew window. Publish readings to
   * `iotrail/v1/readings/<username>`, read verdicts on `iotrail/v1/replies/<username>`.
   */
  mqttCredentials(
    domain: Eip712Domain,
    timestamp: bigint = BigInt(Math.floor(Date.now() / 1000)),
  ): { clientId: string; username: string; password: string } {
    const username = this.address.toLowerCase();
    const signature = this.signDigest(brokerLoginDigest(domain, this.address, timestamp));
    return { clientId: username, username, password: formatBrokerPassword(timestamp, signature) };
  }

  private sign<A extends "RegisterDevice" | "ClaimDevice" | "AcceptKey">(
    domain: Eip712Domain,
    action: A,
    message: RegistryMessages[A],
  ): string {
    return this.signDigest(registryDigest(domain, action, message));
  }
}

/**
 * Warns (as ssh does, but without refusing) when a key file can be read by its group or by anyone: a key
 * file should be its owner's alone (`chmod 600`).
 */
function warnIfLoose(path: string, mode: number): void {
  if ((mode & 0o077) === 0 || process.platform === "win32") return;
  process.emitWarning(
    `the key file ${path} can be read by ${mode & 0o004 ? "anyone" : "its group"} (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
    { code: "IOTRAIL_LOOSE_KEY_FILE" },
  );
}

/** A keystore's password: `IOTRAIL_KEY_PASSWORD`, else the file `IOTRAIL_KEY_PASSWORD_FILE`, else asked for. */
async function keystorePassword(path: string, asked: (() => Promise<string>) | undefined): Promise<string> {
  if (process.env.IOTRAIL_KEY_PASSWORD) return process.env.IOTRAIL_KEY_PASSWORD;
  const file = process.env.IOTRAIL_KEY_PASSWORD_FILE;
  if (file) {
    try {
      return (await fs.readFile(file, "utf8")).replace(/\r?\n$/, "");
    } catch (cause) {
      throw new InvalidInputError(`cannot read the password file ${file} (IOTRAIL_KEY_PASSWORD_FILE)`, { cause });
    }
  }
  if (asked !== undefined) return asked();
  throw new InvalidInputError(
    `${path} is an encrypted keystore: give its password in IOTRAIL_KEY_PASSWORD or a file named by IOTRAIL_KEY_PASSWORD_FILE`,
    { details: { path } },
  );
}
