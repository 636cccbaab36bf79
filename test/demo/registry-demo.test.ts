import { expect } from "chai";
import { ethers } from "hardhat";
import { runRegistryDemo } from "../../src/demo/registry-demo";

describe("demo", function () {
  describe("runRegistryDemo", function () {
    it("runs the registry flow end to end and answers validAt as expected", async function () {
      const [admin, manufacturer, owner, buyer, relayer] = await ethers.getSigners();
      const lines: string[] = [];
      const result = await runRegistryDemo({
        admin: admin!,
        manufacturer: manufacturer!,
        owner: owner!,
        buyer: buyer!,
        relayer: relayer!,
        log: (line) => lines.push(line),
      });
      expect(result.answers.map((a) => a.valid)).to.deep.equal([true, false, false, true]);
      expect(lines.some((l) => l.includes("counts as registered without a transaction: true"))).to.equal(true);
    });
  });
});
