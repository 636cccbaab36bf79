import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { procStat } from "../../src/tooling/proc";

describe("procStat", function () {
  it("reads this process's parent and a CPU time that grows with work", function () {
    const before = procStat(String(process.pid))!;
    expect(before.parent).to.equal(process.ppid);
    const until = Date.now() + 150;
    while (Date.now() < until); // burn CPU
    const after = procStat(String(process.pid))!;
    expect(after.cpuSeconds).to.be.greaterThan(before.cpuSeconds);
  });

  it("reads each thread under task/, the main thread named as the process", function () {
    const tids = readdirSync(`/proc/${process.pid}/task`);
    expect(tids.length).to.be.greaterThan(1); // Node's helper threads
    let read = 0;
    for (const tid of tids) {
      // A worker thread may end between the listing and the read (other tests' threads come and go): then
      // it is gone from task/ too, and reads as undefined.
      const stat = procStat(`${process.pid}/task/${tid}`);
      if (stat === undefined) expect(existsSync(`/proc/${process.pid}/task/${tid}`), tid).to.equal(false);
      else {
        expect(stat.cpuSeconds).to.be.a("number");
        read++;
      }
    }
    expect(read).to.be.greaterThan(1);
    expect(procStat(`${process.pid}/task/${process.pid}`)!.name).to.equal(procStat(String(process.pid))!.name);
  });

  it("a name with spaces and parentheses does not shift the fields", async function () {
    const child = spawn(process.execPath, ["-e", "process.title = 'x) (y z'; setTimeout(() => {}, 10000)"]);
    try {
      let stat = procStat(String(child.pid));
      for (let i = 0; i < 100 && stat?.name !== "x) (y z"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        stat = procStat(String(child.pid));
      }
      expect(stat).to.deep.include({ name: "x) (y z", parent: process.pid });
      expect(stat!.cpuSeconds).to.be.greaterThanOrEqual(0);
    } finally {
      child.kill();
    }
  });

  it("a process that is not there (or has ended) reads as undefined", function () {
    expect(procStat("999999999")).to.equal(undefined);
  });
});
