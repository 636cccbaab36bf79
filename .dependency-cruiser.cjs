/**
 * The house rules of src/ (issue 25), checked by `npm run lint:deps`:
 * - no import cycles;
 * - the library never imports the faces that run it (the CLI; the batcher service is imported only by the
 *   faces: the CLI, the demo and the simulator's tooling);
 * - a folder is entered only through its door, `index.ts`;
 * - the bottom floor (bytes.ts, keccak.ts, errors.ts) imports no folder.
 * @type {import('dependency-cruiser').IConfiguration}
 */
/**
 * The rooms of a folder, each with the rooms it may import (only rooms below it); the others are forbidden.
 * The batcher: support at the bottom; storage; checks and chain side by side; ingest; serving on top.
 * Payments: the contract clients; the payee's book, store and watcher above them.
 */
const ROOM_ORDER = {
  batcher: {
    support: [],
    storage: ["support"],
    checks: ["support", "storage"],
    chain: ["support", "storage"],
    ingest: ["support", "storage", "checks"],
    serving: ["support", "storage", "checks", "ingest"],
  },
  payments: {
    clients: [],
    payee: ["clients"],
  },
};

const ROOMS_IN_ORDER = Object.entries(ROOM_ORDER).flatMap(([folder, rooms]) =>
  Object.entries(rooms).map(([room, below]) => ({
    name: `${folder}-${room}-imports-only-below`,
    severity: "error",
    comment: `src/${folder}/${room}/ imports only ${below.length === 0 ? "no other room" : below.join(", ")} of src/${folder}/.`,
    from: { path: `^src/${folder}/${room}/` },
    to: {
      path: `^src/${folder}/(${Object.keys(rooms).join("|")})/`,
      pathNot: [`^src/${folder}/${room}/`, ...below.map((other) => `^src/${folder}/${other}/`)],
    },
  })),
);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle: two rooms that need each other are one room, or share something that belongs lower.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "no-face-imports",
      severity: "error",
      comment: "Nothing in the library imports the CLI: it is a face that runs the library.",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "batcher-only-from-faces",
      severity: "error",
      comment: "The batcher service is run by faces (the CLI, the demo); the library below it never imports it.",
      from: { path: "^src/", pathNot: "^src/(cli|batcher|demo)/" },
      to: { path: "^src/batcher/" },
    },
    {
      name: "folder-through-its-door",
      severity: "error",
      comment: "Another folder's file is reached only through that folder's index.ts.",
      from: { path: "^src/([^/]+)/" },
      to: { path: "^src/[^/]+/.+", pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$"] },
    },
    {
      name: "sub-folder-through-its-door",
      severity: "error",
      comment: "A folder's own files reach its sub-folders only through each sub-folder's index.ts.",
      from: { path: "^src/([^/]+)/[^/]+\\.ts$" },
      to: { path: "^src/$1/[^/]+/.+", pathNot: "^src/$1/[^/]+/index\\.ts$" },
    },
    {
      name: "sibling-through-its-door",
      severity: "error",
      comment: "A sub-folder reaches a sibling sub-folder only through the sibling's index.ts.",
      from: { path: "^src/([^/]+)/([^/]+)/" },
      to: { path: "^src/$1/[^/]+/.+", pathNot: ["^src/$1/$2/", "^src/$1/[^/]+/index\\.ts$"] },
    },
    {
      name: "rooms-look-down",
      severity: "error",
      comment: "A room inside a folder never imports the folder's own files (its door, config, service): they run it.",
      from: { path: "^src/([^/]+)/[^/]+/" },
      to: { path: "^src/$1/[^/]+\\.ts$" },
    },
    ...ROOMS_IN_ORDER,
    {
      name: "bottom-floor",
      severity: "error",
      comment: "bytes.ts, keccak.ts and errors.ts are the bottom floor: they import no folder of src/.",
      from: { path: "^src/(bytes|keccak|errors)\\.ts$" },
      to: { path: "^src/[^/]+/" },
    },
    {
      name: "root-files-through-doors",
      severity: "error",
      comment: "A file at the top of src/ reaches a folder only through its index.ts.",
      from: { path: "^src/[^/]+\\.ts$" },
      to: { path: "^src/[^/]+/.+", pathNot: "^src/[^/]+/index\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(typechain-types|dist|artifacts)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
