/**
 * Shareable verification links: a small bundle travels in the URL fragment (never sent to a server),
 * deflate-compressed and base64url-encoded, as `#bundle=<text>`. Web Streams' CompressionStream exists in
 * browsers and in Node 20 alike.
 */
import { InvalidInputError } from "../errors";

export const SHARE_FRAGMENT_KEY = "bundle";
/** The longest fragment we make: URLs beyond this are cut by some browsers and chat tools. */
export const MAX_SHARE_CHARS = 32_000;

async function pipe(data: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // Both sides awaited together: a corrupt input rejects the write side too, and that must not go unhandled.
  const [out] = await Promise.all([
    new Response(stream.readable).arrayBuffer(),
    writer.write(data as Uint8Array<ArrayBuffer>).then(() => writer.close()),
  ]);
  return new Uint8Array(out);
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The fragment (without `#`) that carries `bundleText`, or undefined when the bundle is too big to share so. */
export async function shareFragment(bundleText: string): Promise<string | undefined> {
  const compressed = await pipe(new TextEncoder().encode(bundleText), new CompressionStream("deflate-raw"));
  const fragment = `${SHARE_FRAGMENT_KEY}=${toBase64Url(compressed)}`;
  return fragment.length <= MAX_SHARE_CHARS ? fragment : undefined;
}

/** The bundle text a fragment carries, or undefined when it carries none. */
export async function bundleFromFragment(fragment: string): Promise<string | undefined> {
  const params = new URLSearchParams(fragment.replace(/^#/, ""));
  const encoded = params.get(SHARE_FRAGMENT_KEY);
  if (encoded === null) return undefined;
  if (!/^[A-Za-z0-9_-]*$/.test(encoded) || encoded.length > MAX_SHARE_CHARS) {
    throw new InvalidInputError("the link's bundle is not base64url text");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(
      await pipe(fromBase64Url(encoded), new DecompressionStream("deflate-raw")),
    );
  } catch (cause) {
    throw new InvalidInputError("the link's bundle does not decompress", { cause });
  }
}
