/** Where readings and batches are kept: the store interface, SQLite and PostgreSQL engines, and the opener that picks one (with SQLite's process lock). Imports only ../support. */
export * from "./store";
export * from "./store-sqlite";
export * from "./store-postgres";
export * from "./open-store";
