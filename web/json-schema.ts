/**
 * The browser build's `src/json-schema`: the same validators, precompiled at build time
 * (scripts/web-validators.js), since the page's content security policy forbids compiling code at run time.
 */
import type { ErrorObject } from "ajv";
import { validatorOf } from "../src/json-schema-core";
import type { SchemaValidator } from "../src/json-schema-core";
import * as generated from "./generated/validators.js";

type Compiled = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };
const byId = generated as unknown as Record<string, Compiled> & { ids: Record<string, string> };

export type { SchemaValidator };

export function lazyValidator<T>(schema: object): SchemaValidator<T> {
  const id = (schema as { $id?: string }).$id;
  return validatorOf<T>(() => {
    const compiled = id === undefined ? undefined : byId[byId.ids[id] ?? ""];
    if (compiled === undefined) throw new Error(`the page has no precompiled validator for ${id ?? "this schema"}`);
    return compiled;
  });
}
