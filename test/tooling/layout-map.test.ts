/**
 * Issue 25: the README's Layout is a map of the rooms of src/, with each room's floor and what it may
 * import. This test reads that table and the imports dependency-cruiser finds, so the map cannot drift
 * from the house: every room is on the map, and every import goes where its room's line allows, to a lower
 * floor.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

interface Room {
  names: string[];
  floor: number;
  allowed: Set<string> | "any";
  except: string[];
}

/** The room of a file of src/: its folder, or its file name without `.ts` on the bottom floors. */
const roomOf = (path: string): string | undefined => {
  const match = /^src\/([^/]+?)(\.ts)?(\/|$)/.exec(path);
  return match?.[1];
};

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** `src/json-schema*.ts` names two rooms; `src/batcher/` one. */
function expand(name: string, all: string[]): string[] {
  const bare = name
    .replace(/^src\//, "")
    .replace(/\/$/, "")
    .replace(/\.ts$/, "");
  if (!bare.includes("*")) return [bare];
  const pattern = new RegExp(`^${bare.replace("*", ".*")}$`);
  return all.filter((room) => pattern.test(room));
}

function readMap(all: string[]): Map<string, Room> {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const layout = readme.slice(readme.indexOf("## Layout"), readme.indexOf("\n## ", readme.indexOf("## Layout") + 3));
  const rows = layout
    .split("\n")
    .filter((line) => line.startsWith("| `src/"))
    .map((line) => line.split("|").map((cell) => cell.trim()));
  const map = new Map<string, Room>();
  for (const [, roomCell, , importCell] of rows) {
    const floorMatch = /\((\d+|face)\)/.exec(roomCell!);
    const floor = floorMatch?.[1] === "face" ? 100 : Number(floorMatch?.[1]);
    const names = ticked(roomCell!).flatMap((name) => expand(name, all));
    const any = /^(any room|every room below|the SDK's rooms)/.test(importCell!);
    const room: Room = {
      names,
      floor,
      allowed: any ? "any" : new Set(ticked(importCell!).flatMap((name) => expand(name, all))),
      except: any ? ticked(importCell!).flatMap((name) => expand(name, all)) : [],
    };
    for (const name of names) map.set(name, room);
  }
  return map;
}

type Modules = { source: string; dependencies: { resolved: string }[] }[];

function cruiseModules(): Modules {
  const cruise = spawnSync(
    join(ROOT, "node_modules", ".bin", "depcruise"),
    ["src", "--config", ".dependency-cruiser.cjs", "--output-type", "json"],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  expect(cruise.status, cruise.stderr).to.equal(0);
  return (JSON.parse(cruise.stdout) as { modules: Modules }).modules;
}

/** The imports between rooms that the map does not allow, and how many imports between rooms there are. */
function offMap(map: Map<string, Room>, modules: Modules): { wrong: string[]; checked: number } {
  const wrong: string[] = [];
  let checked = 0;
  for (const module of modules) {
    const from = roomOf(module.source);
    if (from === undefined) continue;
    const room = map.get(from)!;
    for (const dependency of module.dependencies) {
      const to = roomOf(dependency.resolved);
      if (to === undefined || to === from) continue;
      checked++;
      const target = map.get(to)!;
      const sameRow = room === target;
      const allowed = room.allowed === "any" ? !room.except.includes(to) : room.allowed.has(to) || sameRow;
      const lower = target.floor < room.floor || sameRow || (target.floor === 0 && room.floor === 0);
      if (!allowed || !lower) wrong.push(`${module.source} -> ${dependency.resolved} (${from} -> ${to})`);
    }
  }
  return { wrong, checked };
}

const srcRooms = () =>
  readdirSync(join(ROOT, "src"))
    .filter((name) => !name.endsWith(".md"))
    .map((name) => name.replace(/\.ts$/, ""));

describe("the README's Layout, a map of the rooms", function () {
  this.timeout(120_000);
  let modules: Modules;
  before(function () {
    modules = cruiseModules();
  });

  it("names every room of src/, and every import goes where the map allows, to a lower floor", function () {
    const all = srcRooms();
    const map = readMap(all);
    expect(
      all.filter((room) => !map.has(room)),
      "rooms missing from the map",
    ).to.deep.equal([]);
    const { wrong, checked } = offMap(map, modules);
    expect(wrong, "imports the map does not allow").to.deep.equal([]);
    expect(checked, "imports between rooms").to.be.greaterThan(100);
  });

  it("a map that forgot an import, or put a room on too low a floor, fails", function () {
    const forgot = readMap(srcRooms());
    (forgot.get("sales")!.allowed as Set<string>).delete("payments");
    expect(offMap(forgot, modules).wrong.some((line) => line.endsWith("(sales -> payments)"))).to.equal(true);
    const low = readMap(srcRooms());
    low.get("proof")!.floor = 1;
    expect(offMap(low, modules).wrong.some((line) => line.endsWith("(proof -> telemetry)"))).to.equal(true);
  });
});
