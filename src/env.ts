/**
 * The environment with `.env` on top of it (dotenv never overrides a variable that is already set), and a
 * record of which variables came from `.env`, so that configuration can say where each value came from.
 */
import { config as loadDotenvFile } from "dotenv";

let fromDotenv: ReadonlySet<string> = new Set();

/** Loads `.env` from the working directory (once is enough; a second call loads nothing new). */
export function loadDotenv(path?: string): ReadonlySet<string> {
  const before = new Set(Object.keys(process.env));
  loadDotenvFile({ quiet: true, ...(path === undefined ? {} : { path }) });
  fromDotenv = new Set([...fromDotenv, ...Object.keys(process.env).filter((key) => !before.has(key))]);
  return fromDotenv;
}

/** Where variable `name` came from: `.env` or the process environment. */
export function envSource(name: string): ".env" | "environment" {
  return fromDotenv.has(name) ? ".env" : "environment";
}
