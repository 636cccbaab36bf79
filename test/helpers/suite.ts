/** The whole suite deployed with Ignition on the in-process chain, recorded in a temporary folder. */
import hre from "hardhat";
import { deploySuite } from "../../src/deploy";
import type { DeploymentRecord } from "../../src/deployments";
import { tempDir } from "./cli";

export interface SuiteFixture {
  record: DeploymentRecord;
  /** The folder of deployment records (pass it as --deployments). */
  dir: string;
}

export async function suiteFixture(): Promise<SuiteFixture> {
  const dir = tempDir("iotrail-deployments-");
  const { record } = await deploySuite(hre, { dir });
  return { record, dir };
}
