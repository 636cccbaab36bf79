/**
 * Shareable verification links: a small bundle travels in the URL fragment (never sent to a server),
 * deflate-compressed and base64url-encoded, as `#bundle=<text>`. Web Streams' CompressionStream exists in
 * browsers and in Node 20 alike.
 */
import { InvalidInputError } from "../errors";

export const SHARE_FRAGMENT_KEY = "bundle";
/** The longest fragment we make: URLs beyond this are cut by some browsers and chat tools. */
export const MAX_SHARE_CHARS = 32_000;

/** The most a link's bundle may decompress to: a small deflate text could otherwise expand a thousandfold. */
export const MAX_SHARED_BUNDLE_BYTES = 4 * 1024 * 1024;

async function pipe(data: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // Both sides awaited together: a corrupt input rejects the write side too, and that must not go unhandled.
  const [out] = await Promise.all([
    readAtMost(stream.readable, MAX_SHARED_BUNDLE_BYTES),
    writer.write(data as Uint8Array<ArrayBuffer>).then(
      () => writer.close(),
      () => undefined, // the read side reports the failure
    ),
  ]);
  return out;
}

/** The stream's bytes, or an error as soon as there are more than `limit` (the rest is never produced). */
async function readAtMost(readable: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = readable.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new InvalidInputError(`the link's bundle expands beyond ${limit} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
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
  let bytes: Uint8Array;
  try {
    bytes = await pipe(fromBase64Url(encoded), new DecompressionStream("deflate-raw"));
  } catch (cause) {
    if (cause instanceof InvalidInputError) throw cause;
    throw new InvalidInputError("the link's bundle does not decompress", { cause });
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new InvalidInputError("the link's bundle is not UTF-8 text", { cause });
  }
}
