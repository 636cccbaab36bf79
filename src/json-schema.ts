/**
 * JSON Schema validators compiled on first use: compiling a schema costs tens of milliseconds, which a
 * command that never reads that format (`iotrail --help`) should not pay at start.
 */
import Ajv2020 from "ajv/dist/2020";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormats from "ajv-formats";

export interface SchemaValidator<T> {
  (value: unknown): value is T;
  /** The errors of the last call that failed. */
  errors: ErrorObject[] | null | undefined;
}

export function lazyValidator<T>(schema: object): SchemaValidator<T> {
  let compiled: ValidateFunction<T> | undefined;
  const validate = ((value: unknown): value is T => {
    if (compiled === undefined) {
      const ajv = new Ajv2020({ allErrors: true, strict: true });
      addFormats(ajv);
      compiled = ajv.compile<T>(schema);
    }
    const valid = compiled(value);
    validate.errors = compiled.errors;
    return valid;
  }) as SchemaValidator<T>;
  validate.errors = undefined;
  return validate;
}
