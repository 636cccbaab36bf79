import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { KWH_PRICE, demoReportHtml, runColdChainStory, runEnergyStory } from "../../src/demo";
import { EscrowStatus } from "../../src/payments";
import { ANCHORER_KEY, startRpcServer } from "../helpers/batcher";
import { suiteFixture } from "../helpers/suite";

describe("the demo's stories", function () {
  /** The suite, with the batcher's account (test account 6) made an anchorer. */
  async function storiesFixture() {
    const fx = await suiteFixture();
    const anchor = await ethers.getContractAt("TelemetryAnchor", fx.record.contracts.TelemetryAnchor.address);
    await anchor.grantRole(await anchor.ANCHORER_ROLE(), new ethers.Wallet(ANCHORER_KEY).address);
    return fx;
  }

  describe("runColdChainStory and runEnergyStory", function () {
    it("cold chain: readings through the batcher over MQTT are anchored, the escrow pays the carrier, the trip verifies and a tampered copy fails; energy: the channels settle", async function () {
      const { record } = await loadFixture(storiesFixture);
      const rpc = await startRpcServer();
      try {
        const signers = await ethers.getSigners();
        const lines: string[] = [];
        const coldChain = await runColdChainStory({
          record,
          rpcUrl: rpc.url,
          provider: ethers.provider,
          manufacturer: signers[0]!,
          shipper: signers[1]!,
          carrier: signers[2]!,
          relayer: signers[3]!,
          anchorerKey: ANCHORER_KEY,
          loggers: 3,
          readingsPerLogger: 20,
          log: (line) => lines.push(line),
        });
        expect(coldChain.simulation).to.deep.include({ sent: 60, acknowledged: 60, unanswered: 0 });
        expect(coldChain.escrowStatus).to.equal(EscrowStatus.Released);
        expect(coldChain.carrierPaid).to.equal(ethers.parseEther("0.5"));
        expect(coldChain.trip.range).to.deep.equal({ fromSequence: "1", toSequence: "20" });
        expect(coldChain.tripReport.verdict).to.equal("verified");
        expect(coldChain.tamperedReport.verdict).to.equal("failed");
        expect(coldChain.gasPerReading).to.be.greaterThan(0);
        expect(lines[0]).to.contain("committed in one transaction");

        const energy = await runEnergyStory({
          record,
          manufacturer: signers[0]!,
          owners: signers.slice(7, 10),
          kwhPerMeter: 50,
        });
        expect(energy).to.deep.include({ meters: 3, vouchers: 150, transactions: 6 });
        expect(energy.paid).to.deep.equal([50n, 50n, 50n].map((n) => n * KWH_PRICE));

        const html = demoReportHtml({ coldChain, energy, files: ["demo-output/report.html"] });
        expect(html).to.contain('<strong class="verified">VERIFIED</strong>');
        expect(html).to.contain('<strong class="failed">FAILED</strong>');
        expect(html).to.contain("<svg");
        // Amounts in ETH, never raw wei (issue 24, defect 10).
        expect(html).to.contain(`the carrier got ${ethers.formatEther(coldChain.carrierPaid)} ETH`);
        expect(html).not.to.match(/\bwei\b/);
        expect(html).not.to.match(/<script|https?:\/\/(?!www\.w3\.org)/);
      } finally {
        await rpc.close();
      }
    });
  });
});
