import { expect } from "chai";
import { coverageFailures } from "../../src/tooling/coverage";

describe("coverage gate", function () {
  describe("coverageFailures", function () {
    const metric = (covered: number, total: number) => ({
      covered,
      total,
      pct: total === 0 ? 100 : (covered / total) * 100,
    });
    it("fails a file below the minimum on lines or branches, ignores the total row", function () {
      const summary = {
        total: { lines: metric(0, 10), branches: metric(0, 10) },
        "/x/contracts/A.sol": { lines: metric(96, 100), branches: metric(19, 20) },
        "/x/contracts/B.sol": { lines: metric(100, 100), branches: metric(18, 20) },
        "/x/contracts/C.sol": { lines: metric(10, 10), branches: metric(0, 0) },
      };
      expect(coverageFailures(summary, 95)).to.deep.equal([
        { file: "/x/contracts/B.sol", metric: "branches", pct: 90 },
      ]);
    });
  });
});
