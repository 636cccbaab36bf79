/**
 * Issue 25: the house rules of src/ (`.dependency-cruiser.cjs`, run by `npm run lint:deps` inside `npm run
 * lint`) hold for the repository, and a deliberate bad import of each kind makes the check fail.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/cli";

const ROOT = join(__dirname, "..", "..");
const DEPCRUISE = join(ROOT, "node_modules", ".bin", "depcruise");
const CONFIG = join(ROOT, ".dependency-cruiser.cjs");

function cruise(cwd: string) {
  return spawnSync(DEPCRUISE, ["src", "--config", CONFIG], { cwd, encoding: "utf8" });
}

describe("the layering check (dependency-cruiser)", function () {
  this.timeout(120_000);

  it("src/ keeps the rules: no cycle, no import of the CLI, folders entered through index.ts", function () {
    const result = cruise(ROOT);
    expect(result.status, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.contain("no dependency violations found");
  });

  it("a tree with a bad import of each kind fails it, naming each rule", function () {
    const dir = tempDir("iotrail-layering-");
    const file = (path: string, text: string) => {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    file("tsconfig.json", JSON.stringify({ compilerOptions: { module: "commonjs", strict: true } }));
    file("src/cli/main.ts", 'export const cli = "face";\n');
    file("src/verify/index.ts", 'export * from "./verify";\n');
    // The library importing the CLI; a file of another folder reached around its door; a cycle.
    file("src/verify/verify.ts", 'import { cli } from "../cli/main";\nexport const verify = cli;\n');
    file("src/proof/index.ts", 'export * from "./bundle";\n');
    file("src/proof/bundle.ts", 'import { verify } from "../verify/verify";\nexport const bundle = verify;\n');
    file("src/a/index.ts", 'import { b } from "../b";\nexport const a = () => b;\n');
    file("src/b/index.ts", 'import { a } from "../a";\nexport const b = () => a;\n');
    // Inside the batcher: storage importing serving (a room above it), a sibling's file around its door,
    // a room importing the folder's own config, and the folder's service around a room's door.
    file("src/batcher/index.ts", 'export * from "./service";\n');
    file("src/batcher/config.ts", "export const config = 1;\n");
    file("src/batcher/service.ts", 'import { api } from "./serving/api";\nexport const service = api;\n');
    file("src/batcher/serving/index.ts", 'export * from "./api";\n');
    file("src/batcher/serving/api.ts", 'import { config } from "../config";\nexport const api = config;\n');
    file("src/batcher/storage/index.ts", 'export * from "./store";\n');
    file("src/batcher/storage/store.ts", 'import { api } from "../serving";\nexport const store = api;\n');
    file("src/batcher/chain/index.ts", 'export * from "./sealer";\n');
    file("src/batcher/chain/sealer.ts", 'import { store } from "../storage/store";\nexport const sealer = store;\n');
    const result = cruise(dir);
    expect(result.status).to.not.equal(0);
    for (const rule of [
      "no-face-imports",
      "folder-through-its-door",
      "no-circular",
      "batcher-storage-imports-only-below",
      "sibling-through-its-door",
      "rooms-look-down",
      "sub-folder-through-its-door",
    ]) {
      expect(result.stdout, rule).to.contain(rule);
    }
  });
});
