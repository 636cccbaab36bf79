/**
 * The typed-data reference: every EIP-712 domain, primary type (with its field types), signer and
 * consuming function of iotrail's contracts, and every constructor, so that a client written with any
 * library (viem, web3.py, ...) can sign without reading the Solidity. It is generated from the one source
 * of the types (this folder) and the compiled ABIs by `npm run docs` into `docs/typed-data.json` and
 * `docs/typed-data.md`; a test fails when the committed files drift from what this code generates.
 */
import {
  ESCROW_EIP712_NAME,
  ESCROW_EIP712_VERSION,
  ESCROW_TYPES,
  PAYMENTS_EIP712_NAME,
  PAYMENTS_EIP712_VERSION,
  PAYMENT_TYPES,
} from "./payments";
import { REGISTRY_EIP712_NAME, REGISTRY_EIP712_VERSION, REGISTRY_TYPES } from "./registry";
import { BROKER_LOGIN_TYPES, TELEMETRY_EIP712_NAME, TELEMETRY_EIP712_VERSION, TELEMETRY_TYPES } from "./telemetry";

export const TYPED_DATA_REFERENCE_VERSION = 1;

export interface TypedField {
  name: string;
  type: string;
}

export interface ActionReference {
  /** The primary type's fields, in order (the type string is `Name(type name,...)`). */
  fields: TypedField[];
  /** The EIP-712 type string whose keccak-256 is the type hash. */
  encodeType: string;
  /** Who signs it. */
  signer: string;
  /** Where `nonce` comes from (absent when the type has none). */
  nonce?: string;
  /** The functions that take the signature. */
  usedBy: string[];
  notes?: string;
}

export interface ContractReference {
  domain: {
    name: string;
    version: string;
    chainId: string;
    verifyingContract: string;
  };
  /** Signed by iotrail's contracts' users and checked on-chain. */
  types: Record<string, ActionReference>;
  /** Signed under the same domain, checked off-chain only (by the batcher). */
  offChainTypes?: Record<string, ActionReference>;
}

export interface ConstructorReference {
  inputs: Array<TypedField & { description: string }>;
}

export interface TypedDataReference {
  version: typeof TYPED_DATA_REFERENCE_VERSION;
  kind: "iotrail.typed-data";
  notes: string[];
  contracts: Record<string, ContractReference>;
  constructors: Record<string, ConstructorReference>;
}

type Table = Readonly<Record<string, readonly { readonly name: string; readonly type: string }[]>>;

function encodeType(name: string, fields: readonly TypedField[]): string {
  return `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
}

function actions(
  table: Table,
  about: Record<string, Omit<ActionReference, "fields" | "encodeType">>,
): Record<string, ActionReference> {
  const out: Record<string, ActionReference> = {};
  for (const [name, fields] of Object.entries(table)) {
    const info = about[name];
    if (info === undefined) throw new Error(`the typed-data reference does not describe ${name}`);
    const copy = fields.map((f) => ({ name: f.name, type: f.type }));
    out[name] = { fields: copy, encodeType: encodeType(name, copy), ...info };
  }
  return out;
}

const domainOf = (name: string, version: string, contract: string) => ({
  name,
  version,
  chainId: "the chain's EIP-155 id",
  verifyingContract: `the ${contract} address (deployments/<chainId>.json)`,
});

const OWNER_NONCE = "nonces(owner) on the DeviceRegistry; the relayed action consumes it";
const KEY_NONCE = "nonces(key) on the DeviceRegistry (0 for a key never used)";

/** What each constructor parameter means, by contract and parameter name (types come from the ABI). */
export const CONSTRUCTOR_DESCRIPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  DeviceRegistry: { admin: "gets DEFAULT_ADMIN_ROLE (grants MANUFACTURER_ROLE)" },
  TelemetryAnchor: {
    admin: "gets DEFAULT_ADMIN_ROLE (grants ANCHORER_ROLE)",
    registry_: "the DeviceRegistry whose keys sign readings",
  },
  PaymentChannels: {
    registry_: "the DeviceRegistry whose active keys may sign vouchers",
    challengePeriod_: "seconds a payer's close waits for the payee, in [3600, 31536000]",
  },
  ConditionalEscrow: {
    anchor_: "the TelemetryAnchor whose anchored readings release escrows (its registry is read from it)",
  },
  DemoToken: {},
};

/** The reference, with constructor inputs as the compiled ABIs give them. */
export function typedDataReference(abis: Readonly<Record<string, readonly unknown[]>>): TypedDataReference {
  const constructors: Record<string, ConstructorReference> = {};
  for (const [contract, descriptions] of Object.entries(CONSTRUCTOR_DESCRIPTIONS)) {
    const abi = abis[contract];
    if (abi === undefined) throw new Error(`no ABI for ${contract}`);
    const ctor = abi.find((item) => (item as { type?: string }).type === "constructor") as
      { inputs: TypedField[] } | undefined;
    constructors[contract] = {
      inputs: (ctor?.inputs ?? []).map(({ name, type }) => {
        const description = descriptions[name];
        if (description === undefined) throw new Error(`describe ${contract}'s constructor parameter ${name}`);
        return { name, type, description };
      }),
    };
  }
  return {
    version: TYPED_DATA_REFERENCE_VERSION,
    kind: "iotrail.typed-data",
    notes: [
      "Domains are OpenZeppelin EIP712 domains: name, version, chainId, verifyingContract (no salt). Each contract also answers eip712Domain() (ERC-5267).",
      "Signatures are 65 bytes r || s || v (v 27 or 28) with a low s, or ERC-1271 for contract accounts where the contract says so.",
      "Numbers are signed as the field type says, whatever width the function's ABI uses for the same value (a voucher's amount is a uint256 in the type and a uint96 in redeem).",
      "deadline is a Unix time in seconds; the contract refuses a signature after it.",
    ],
    contracts: {
      DeviceRegistry: {
        domain: domainOf(REGISTRY_EIP712_NAME, REGISTRY_EIP712_VERSION, "DeviceRegistry"),
        types: actions(REGISTRY_TYPES, {
          RegisterDevice: {
            signer: "the device key (possession proof)",
            nonce: KEY_NONCE,
            usedBy: ["register(Registration)", "registerBatch(Registration[])"],
            notes:
              "registrant is the manufacturer account that submits the registration; owner the device's first owner.",
          },
          ClaimDevice: {
            signer: "the device key of a lot entry",
            nonce: KEY_NONCE,
            usedBy: ["claim(lotId, metadataHash, proof, KeyProof)"],
          },
          AcceptKey: {
            signer: "the new key of a rotation",
            nonce: KEY_NONCE,
            usedBy: ["rotateKey(deviceId, KeyProof)", "rotateKeyBySig(deviceId, KeyProof, deadline, signature)"],
          },
          TransferDevice: {
            signer: "the device's owner",
            nonce: OWNER_NONCE,
            usedBy: ["startTransferBySig(deviceId, newOwner, deadline, signature)"],
          },
          AcceptTransfer: {
            signer: "the pending owner",
            nonce: "nonces(pendingOwner) on the DeviceRegistry; consumed",
            usedBy: ["acceptTransferBySig(deviceId, deadline, signature)"],
          },
          SuspendDevice: {
            signer: "the device's owner",
            nonce: OWNER_NONCE,
            usedBy: ["suspendBySig(deviceId, reason, deadline, signature)"],
          },
          ResumeDevice: {
            signer: "the device's owner",
            nonce: OWNER_NONCE,
            usedBy: ["resumeBySig(deviceId, deadline, signature)"],
          },
          RevokeDevice: {
            signer: "the device's owner",
            nonce: OWNER_NONCE,
            usedBy: ["revokeBySig(deviceId, reason, deadline, signature)"],
          },
          RotateKey: {
            signer: "the device's owner",
            nonce: OWNER_NONCE,
            usedBy: ["rotateKeyBySig(deviceId, KeyProof, deadline, signature)"],
            notes: "newKey is the KeyProof's key, which signs its own AcceptKey.",
          },
        }),
      },
      TelemetryAnchor: {
        domain: domainOf(TELEMETRY_EIP712_NAME, TELEMETRY_EIP712_VERSION, "TelemetryAnchor"),
        types: actions(TELEMETRY_TYPES, {
          Reading: {
            signer: "the device key",
            usedBy: [
              "checkSignedReading(batchId, Reading, signature, proof)",
              "checkProvenReading(...)",
              "ConditionalEscrow.releaseByReading(...)",
            ],
            notes:
              'metric is bytes32 of a short name ("temperature.mC"); payloadHash is zero or the keccak-256 of a payload kept off-chain. No nonce: (device, sequence) is unique.',
          },
        }),
        offChainTypes: actions(BROKER_LOGIN_TYPES, {
          BrokerLogin: {
            signer: "the device key",
            usedBy: ["the batcher's embedded MQTT broker (password v1.<timestamp>.<signature>)"],
            notes: "timestamp is the login's Unix time; the broker accepts it within a skew window, once.",
          },
        }),
      },
      PaymentChannels: {
        domain: domainOf(PAYMENTS_EIP712_NAME, PAYMENTS_EIP712_VERSION, "PaymentChannels"),
        types: actions(PAYMENT_TYPES, {
          Channel: {
            signer: "nobody: the digest is the channel's id",
            usedBy: [
              "channelIdOf(terms)",
              "every call that takes ChannelTerms",
              "openWithAuthorization (the EIP-3009 nonce)",
            ],
            notes:
              "channelId = uint256 of the EIP-712 digest of the terms under the PaymentChannels domain, so ids differ across chains and deployments. The client's default salt is the smallest counter (as bytes32) never opened with these terms.",
          },
          Voucher: {
            signer: "the channel's signer (a device key)",
            usedBy: [
              "redeem(terms, amount, signature)",
              "claimMany(payee, token, claims) (EIP-2098 r, vs)",
              "close(...)",
              "closeBySig(...)",
            ],
            notes:
              "amount is cumulative (everything paid over the channel's life); no nonce. The type is Voucher(uint256 channelId,uint256 amount).",
          },
          OpenChannel: {
            signer: "the funder",
            nonce: "nonces(funder) on the PaymentChannels; consumed",
            usedBy: ["openBySig(funder, OpenParams, deadline, signature, Permit)"],
            notes:
              "cap 0 means the deposit; expiry 0 means none. The deposit is pulled with an EIP-2612 permit of the token. openWithAuthorization needs no OpenChannel: the funder signs the token's EIP-3009 ReceiveWithAuthorization(from funder, to PaymentChannels, value amount, validAfter, validBefore, nonce channelId) instead.",
          },
          CloseChannel: {
            signer: "the payee",
            nonce: "nonces(payee) on the PaymentChannels; consumed",
            usedBy: ["closeBySig(terms, amount, voucherSignature, deadline, payeeSignature)"],
          },
          StartClose: {
            signer: "the payer",
            nonce: "nonces(payer) on the PaymentChannels; consumed",
            usedBy: ["startCloseBySig(terms, deadline, signature)"],
          },
        }),
      },
      ConditionalEscrow: {
        domain: domainOf(ESCROW_EIP712_NAME, ESCROW_EIP712_VERSION, "ConditionalEscrow"),
        types: actions(ESCROW_TYPES, {
          ReleaseEscrow: {
            signer: "the payer",
            nonce: "nonces(payer) on the ConditionalEscrow; consumed",
            usedBy: ["releaseBySig(escrowId, deadline, signature)"],
          },
        }),
      },
    },
    constructors,
  };
}

/** The reference as Markdown (docs/typed-data.md). */
export function typedDataMarkdown(reference: TypedDataReference): string {
  const lines: string[] = [
    "# Typed data and constructors",
    "",
    "<!-- Generated by `npm run docs` from src/eip712 and the compiled ABIs; do not edit. A test fails when it drifts. -->",
    "",
    "Everything a client needs to sign iotrail's EIP-712 messages with any library, and to deploy the contracts.",
    "The same content as JSON: [`typed-data.json`](typed-data.json).",
    "",
    ...reference.notes.map((note) => `- ${note}`),
    "",
  ];
  for (const [contract, info] of Object.entries(reference.contracts)) {
    lines.push(`## ${contract}`, "", "| domain field | value |", "| --- | --- |");
    for (const [key, value] of Object.entries(info.domain))
      lines.push(`| \`${key}\` | ${key === "name" || key === "version" ? `\`"${value}"\`` : value} |`);
    lines.push("");
    for (const [label, table] of [
      ["", info.types],
      [" (off-chain)", info.offChainTypes ?? {}],
    ] as const) {
      for (const [name, action] of Object.entries(table)) {
        lines.push(`### \`${name}\`${label}`, "", "```text", action.encodeType, "```", "");
        lines.push(
          "| field | type |",
          "| --- | --- |",
          ...action.fields.map((f) => `| \`${f.name}\` | \`${f.type}\` |`),
          "",
        );
        lines.push(`- signed by: ${action.signer}`);
        if (action.nonce !== undefined) lines.push(`- nonce: ${action.nonce}`);
        lines.push(`- taken by: ${action.usedBy.map((u) => `\`${u}\``).join(", ")}`);
        if (action.notes !== undefined) lines.push(`- ${action.notes}`);
        lines.push("");
      }
    }
  }
  lines.push("## Constructors", "");
  for (const [contract, ctor] of Object.entries(reference.constructors)) {
    const signature = `${contract}(${ctor.inputs.map((i) => `${i.type} ${i.name}`).join(", ")})`;
    lines.push(`- \`${signature}\`${ctor.inputs.length === 0 ? "" : ":"}`);
    for (const input of ctor.inputs) lines.push(`  - \`${input.name}\`: ${input.description}`);
  }
  lines.push("");
  return lines.join("\n");
}
