/**
 * JSON Schema validators compiled on first use: compiling a schema costs tens of milliseconds, which a
 * command that never reads that format (`iotrail --help`) should not pay at start.
 */
import Ajv2020 from "ajv/dist/2020";
import type { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { validatorOf } from "./json-schema-core";
import type { SchemaValidator } from "./json-schema-core";

export type { SchemaValidator };

export function lazyValidator<T>(schema: object): SchemaValidator<T> {
  let compiled: ValidateFunction<T> | undefined;
  return validatorOf<T>(() => {
    if (compiled === undefined) {
      const ajv = new Ajv2020({ allErrors: true, strict: true });
      addFormats(ajv);
      compiled = ajv.compile<T>(schema);
    }
    return compiled;
  });
}
