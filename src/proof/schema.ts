/** Validation of proof bundles against the published JSON Schema. */
import Ajv2020 from "ajv/dist/2020";
import type { ErrorObject } from "ajv";
import schema from "../../schemas/proof-bundle.v1.schema.json";
import type { ProofBundle } from "./bundle";

export const PROOF_BUNDLE_SCHEMA = schema;

const validate = new Ajv2020({ allErrors: true, strict: true }).compile<ProofBundle>(schema);

/** Schema errors of `value` as short readable lines; empty if it is a valid version-1 bundle. */
export function proofBundleSchemaErrors(value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describe);
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === "" ? "bundle" : `bundle${error.instancePath.replace(/\//g, ".")}`;
  if (error.keyword === "required") return `${at}: missing field "${String(error.params.missingProperty)}"`;
  if (error.keyword === "additionalProperties") {
    return `${at}: unknown field "${String(error.params.additionalProperty)}"`;
  }
  return `${at}: ${error.message ?? error.keyword}`;
}
