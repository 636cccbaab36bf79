/** The typed-data reference's two files (docs/typed-data.json and .md), from the compiled ABIs. */
import { CONSTRUCTOR_DESCRIPTIONS, typedDataMarkdown, typedDataReference } from "../eip712";

export const TYPED_DATA_DOCS = { json: "docs/typed-data.json", markdown: "docs/typed-data.md" } as const;

export async function renderTypedDataDocs(
  readAbi: (contract: string) => Promise<readonly unknown[]>,
): Promise<{ json: string; markdown: string }> {
  const abis: Record<string, readonly unknown[]> = {};
  for (const contract of Object.keys(CONSTRUCTOR_DESCRIPTIONS)) abis[contract] = await readAbi(contract);
  const reference = typedDataReference(abis);
  return { json: `${JSON.stringify(reference, null, 2)}\n`, markdown: typedDataMarkdown(reference) };
}
