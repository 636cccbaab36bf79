// Precompiles the JSON Schemas the verifier page checks (ajv standalone code) into
// web/generated/validators.js: the page runs under a content security policy without 'unsafe-eval', so it
// cannot compile schemas at run time as the Node library does.
"use strict";
const { mkdirSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const Ajv2020 = require("ajv/dist/2020").default;
const standalone = require("ajv/dist/standalone").default;

const root = join(__dirname, "..");
const schemas = ["proof-bundle.v1", "trust.v1"].map((name) => require(join(root, "schemas", `${name}.schema.json`)));
const ajv = new Ajv2020({ allErrors: true, strict: true, code: { source: true, esm: true } });
for (const schema of schemas) ajv.addSchema(schema);
const code = standalone(ajv, Object.fromEntries(schemas.map((schema, i) => [`v${i}`, schema.$id])));
const ids = `export const ids = ${JSON.stringify(Object.fromEntries(schemas.map((schema, i) => [schema.$id, `v${i}`])))};\n`;
mkdirSync(join(root, "web", "generated"), { recursive: true });
writeFileSync(join(root, "web", "generated", "validators.js"), `${code}\n${ids}`);
const declarations = schemas.map((_, i) => `export declare const v${i}: Validate;`).join("\n");
writeFileSync(
  join(root, "web", "generated", "validators.d.ts"),
  `type Validate = ((value: unknown) => boolean) & { errors?: import("ajv").ErrorObject[] | null };\n${declarations}\nexport declare const ids: Record<string, string>;\n`,
);
