/** Validation of proof bundles against the published JSON Schema. */
import type { ErrorObject } from "ajv";
import { lazyValidator } from "../json-schema";
import schema from "../../schemas/proof-bundle.v1.schema.json";
import { InvalidInputError } from "../errors";
import type { ProofBundle } from "./bundle";

export const PROOF_BUNDLE_SCHEMA = schema;

const validate = lazyValidator<ProofBundle>(schema);

/** Schema errors of `value` as short readable lines; empty if it is a valid version-1 bundle. */
export function proofBundleSchemaErrors(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describe);
}

/** Parses a bundle's JSON text and checks it against the schema; an {@link InvalidInputError} otherwise. */
export function parseProofBundle(text: string, source = "the bundle"): ProofBundle {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(`${source} is not valid JSON`, { cause });
  }
  const errors = proofBundleSchemaErrors(value);
  if (errors.length > 0) throw new InvalidInputError(`${source} is not a version-1 proof bundle: ${errors.join("; ")}`);
  return value as ProofBundle;
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === "" ? "bundle" : `bundle${error.instancePath.replace(/\//g, ".")}`;
  if (error.keyword === "required") return `${at}: missing field "${String(error.params.missingProperty)}"`;
  if (error.keyword === "additionalProperties") {
    return `${at}: unknown field "${String(error.params.additionalProperty)}"`;
  }
  return `${at}: ${error.message ?? error.keyword}`;
}
