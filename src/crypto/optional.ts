/** `require(id)` of an optional native module, or undefined where it is not installed or cannot load. */
export function optionalRequire<T>(id: string): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(id) as T;
  } catch {
    return undefined;
  }
}
