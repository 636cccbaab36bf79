/**
 * Issue 24, "what must show": the README's Guides run literally, each block as written, in the order a new
 * user reads them, in one shell (so `DEVICE` and `CHANNEL` carry over, as in a user's terminal). What a
 * guide puts in another terminal runs in the background here: the lines after a `# terminal N` comment, up
 * to the next blank line, or a line that ends with one. Each background terminal is waited for until it says
 * it is ready (the node's, the batcher's and Mosquitto's own start lines). Nothing is added, changed or left
 * out, ports included: the guides' fixed ports must be free (they are on CI).
 *
 * The guides write into the project folder, as they tell a user to; what this run finds there is moved
 * aside first and put back after, and at the end `git status` must show nothing new (issue 24, 13).
 */
import { expect } from "chai";
import hre from "hardhat";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mosquittoAvailable } from "../../src/tooling/mosquitto";

const ROOT = join(__dirname, "..", "..");

/** What the guides write in the project folder. */
const OUTPUTS = [
  "fleet",
  "broker",
  "deployments/31337.json",
  "batcher.json",
  "batcher.sqlite",
  "batcher.sqlite-wal",
  "batcher.sqlite-shm",
  "batcher.sqlite.lock",
  "batcher-mosquitto.json",
  "batcher-mosquitto.sqlite",
  "batcher-mosquitto.sqlite-wal",
  "batcher-mosquitto.sqlite-shm",
  "batcher-mosquitto.sqlite.lock",
  "voucher.json",
  "trip.json",
  "trip-mosquitto.json",
];

/** The ```sh blocks of the README's "Guides" section, in order. */
export function guideBlocks(readme: string): string[] {
  const section = readme.slice(
    readme.indexOf("\n## Guides\n"),
    readme.indexOf("\n## ", readme.indexOf("\n## Guides\n") + 5),
  );
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Ready lines of what the guides start in other terminals. */
const READY = [
  { command: /npx hardhat node/, ready: "Started HTTP and WebSocket JSON-RPC server" },
  { command: /npx iotrail batcher/, ready: "batcher started" },
  { command: /^mosquitto /, ready: "listen socket on port" },
];

/** The blocks as one bash script: foreground lines as written, other terminals in the background. */
export function guideScript(blocks: readonly string[], logs: string): string {
  const out: string[] = [
    "set -euo pipefail",
    "BACKGROUND=()",
    "trap 'for p in \"${BACKGROUND[@]}\"; do kill -- -$p 2>/dev/null || kill $p 2>/dev/null || true; done' EXIT",
    // Waits for a ready line in a terminal's log (120 s at most), failing with the log if it exits first.
    'ready() { for _ in $(seq 1 1200); do grep -q "$2" "$1" && return 0; kill -0 "$3" 2>/dev/null || { cat "$1"; return 1; }; sleep 0.1; done; cat "$1"; return 1; }',
  ];
  let terminal = 0;
  const background = (lines: string[]) => {
    terminal++;
    const log = join(logs, `terminal-${terminal}.log`);
    const marker = READY.find((r) => lines.some((line) => r.command.test(line.trim())));
    if (marker === undefined) throw new Error(`no ready line known for: ${lines.join("; ")}`);
    // On lines of their own: a trailing comment in a line must not swallow the closing parenthesis.
    out.push(`set -m; (\n${lines.join("\n")}\n) > ${log} 2>&1 & BACKGROUND+=($!); set +m`);
    out.push(`ready ${log} ${JSON.stringify(marker.ready)} $!`);
  };
  for (const block of blocks) {
    // Continued lines (ending with a backslash) are one command.
    const lines = block.replace(/\\\n\s*/g, "").split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (/^# terminal [0-9]+/.test(line.trim())) {
        const group: string[] = [];
        while (i + 1 < lines.length && lines[i + 1]!.trim() !== "") group.push(lines[++i]!);
        background(group);
      } else if (/#\s*terminal [0-9]+/.test(line) && !line.trim().startsWith("#")) {
        background([line]);
      } else {
        out.push(line);
      }
    }
  }
  return `${out.join("\n")}\n`;
}

describe("first hour (issue 24): the README's Guides, run as written", function () {
  this.timeout(600_000);

  it("guideScript: foreground lines as written; a `# terminal N` group or line goes to the background and is waited for", function () {
    const script = guideScript(
      [
        "npx hardhat node --hostname 127.0.0.1   # terminal 1: a chain\nnpx iotrail deploy \\\n  --network localhost\n\n# terminal 2: the batcher\necho '{}' > batcher.json\nnpx iotrail batcher -c batcher.json\n\nnpx iotrail verify trip.json\n",
      ],
      "/logs",
    );
    expect(script).to.contain("npx iotrail deploy --network localhost\n");
    expect(script).to.contain(
      "(\nnpx hardhat node --hostname 127.0.0.1   # terminal 1: a chain\n) > /logs/terminal-1.log",
    );
    expect(script).to.contain(
      "(\necho '{}' > batcher.json\nnpx iotrail batcher -c batcher.json\n) > /logs/terminal-2.log",
    );
    expect(script).to.contain('ready /logs/terminal-2.log "batcher started"');
    expect(script.indexOf("npx iotrail verify")).to.be.greaterThan(script.indexOf("terminal-2.log"));
  });

  it("every block of the Guides, literally: deploy, onboard, batcher, simulate, channels, Mosquitto, bundle, verify", async function () {
    if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true) this.skip();
    if (!mosquittoAvailable()) {
      if (process.env.CI === "true") throw new Error("the Mosquitto guide needs mosquitto (CI installs it)");
      this.skip();
    }
    const blocks = guideBlocks(readFileSync(join(ROOT, "README.md"), "utf8"));
    expect(blocks.length).to.be.at.least(4);
    const work = mkdtempSync(join(tmpdir(), "iotrail-guides-"));
    const aside = join(work, "aside");
    const moved: string[] = [];
    for (const path of OUTPUTS) {
      if (!existsSync(join(ROOT, path))) continue;
      rmSync(join(aside, path), { recursive: true, force: true });
      spawnSync("mkdir", ["-p", join(aside, path, "..")]);
      renameSync(join(ROOT, path), join(aside, path));
      moved.push(path);
    }
    const untracked = () =>
      new Set(
        spawnSync("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=all"], { encoding: "utf8" })
          .stdout.split("\n")
          .filter((line) => line.startsWith("??")),
      );
    const before = untracked();
    const script = join(work, "guides.sh");
    writeFileSync(script, guideScript(blocks, work));
    try {
      const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn("bash", [script], { cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0" } });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.on("exit", (code) => resolve({ code, output }));
      });
      const logs = ["terminal-1.log", "terminal-2.log", "terminal-3.log", "terminal-4.log"]
        .filter((f) => existsSync(join(work, f)))
        .map((f) => `--- ${f}\n${readFileSync(join(work, f), "utf8").slice(-3000)}`)
        .join("\n");
      expect(result.code, `${result.output.slice(-6000)}\n${logs}`).to.equal(0);
      // Both verifications said VERIFIED; the simulations had every reading acknowledged.
      expect(result.output.match(/^VERIFIED/gm) ?? [], result.output).to.have.length(2);
      expect(result.output.match(/acknowledged {2}200 /g) ?? [], result.output).to.have.length(2);
      // Nothing the guides wrote shows to git.
      const after = untracked();
      expect(
        [...after].filter((line) => !before.has(line)),
        "files the guides wrote that git would add",
      ).to.deep.equal([]);
    } finally {
      for (const path of OUTPUTS) rmSync(join(ROOT, path), { recursive: true, force: true });
      for (const path of moved) renameSync(join(aside, path), join(ROOT, path));
    }
  });
});
