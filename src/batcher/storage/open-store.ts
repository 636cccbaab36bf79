/** Opens the store a `database` setting names: a `postgres://` URL, or a SQLite file (or ":memory:"). */
import type { Logger } from "pino";
import { isPostgresUrl } from "./store";
import type { ReadingStore } from "./store";
import { PostgresReadingStore } from "./store-postgres";
import type { PostgresStoreOptions } from "./store-postgres";
import { lockDatabaseFile } from "./process-lock";
import { SqliteReadingStore } from "./store-sqlite";

export async function openStore(
  database: string,
  options: PostgresStoreOptions & { logger?: Logger; exclusive?: boolean } = {},
): Promise<ReadingStore> {
  if (isPostgresUrl(database)) return PostgresReadingStore.open(database, options);
  if (options.exclusive !== true || database === ":memory:") return new SqliteReadingStore(database);
  // The batcher's own store: one process per SQLite file (P-L1), the lock held until the store closes.
  const lock = lockDatabaseFile(database);
  try {
    const store = new SqliteReadingStore(database);
    const close = store.close.bind(store);
    store.close = async () => {
      try {
        await close();
      } finally {
        lock.release();
      }
    };
    return store;
  } catch (error) {
    lock.release();
    throw error;
  }
}
