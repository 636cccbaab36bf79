/** Opens the store a `database` setting names: a `postgres://` URL, or a SQLite file (or ":memory:"). */
import type { Logger } from "pino";
import { isPostgresUrl } from "./store";
import type { ReadingStore } from "./store";
import { PostgresReadingStore } from "./store-postgres";
import type { PostgresStoreOptions } from "./store-postgres";
import { SqliteReadingStore } from "./store-sqlite";

export async function openStore(
  database: string,
  options: PostgresStoreOptions & { logger?: Logger } = {},
): Promise<ReadingStore> {
  return isPostgresUrl(database) ? PostgresReadingStore.open(database, options) : new SqliteReadingStore(database);
}
