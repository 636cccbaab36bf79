import { expect } from "chai";
import { IotrailError } from "../../src/errors";

/** Asserts that `promise` rejects with an IotrailError whose message contains `message`. */
export async function expectRejected(promise: Promise<unknown>, message: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(IotrailError);
    expect((error as Error).message).to.contain(message);
    return;
  }
  expect.fail(`expected a rejection containing "${message}"`);
}
