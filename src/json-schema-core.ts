/** The validator shape of `./json-schema`, without a compiler (the browser build supplies precompiled ones). */
import type { ErrorObject } from "ajv";

export interface SchemaValidator<T> {
  (value: unknown): value is T;
  /** The errors of the last call that failed. */
  errors: ErrorObject[] | null | undefined;
}

/** A {@link SchemaValidator} over a compiled validator obtained on first use. */
export function validatorOf<T>(
  compiled: () => ((value: unknown) => boolean) & { errors?: ErrorObject[] | null },
): SchemaValidator<T> {
  const validate = ((value: unknown): value is T => {
    const check = compiled();
    const valid = check(value);
    validate.errors = check.errors;
    return valid;
  }) as SchemaValidator<T>;
  validate.errors = undefined;
  return validate;
}
