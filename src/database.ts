/** Database locations shared by the stores: a path is SQLite, a postgres:// URL is PostgreSQL. */
export const isPostgresUrl = (database: string): boolean => /^postgres(ql)?:\/\//i.test(database);
