/** `iotrail roles grant|revoke`: the manufacturer and anchorer roles, as the admin (`roles list` is in lookups.ts). */
import { Command } from "commander";
import type { DeviceRegistry, TelemetryAnchor } from "../contracts";
import { callDecoded, sendDecoded } from "../contract-calls";
import { InvalidInputError } from "../errors";
import { parseAddress } from "./context";
import { run } from "./run";

export function rolesCommand(): Command {
  const roles = new Command("roles").description("grant and revoke the manufacturer and anchorer roles (as the admin)");
  for (const verb of ["grant", "revoke"] as const) {
    roles
      .command(verb)
      .description(`${verb} a role: manufacturer (registry) or anchorer (anchor)`)
      .argument("<role>", "manufacturer or anchorer")
      .argument("<account>", "the account")
      .action(
        run(async (ctx, roleName: string, accountText: string) => {
          if (roleName !== "manufacturer" && roleName !== "anchorer") {
            throw new InvalidInputError(`role ${roleName}: expected manufacturer or anchorer`);
          }
          const account = parseAddress(accountText, "account");
          const contract =
            roleName === "manufacturer" ? (await ctx.registry(true)).contract : (await ctx.anchor(true)).contract;
          const role = await callDecoded(contract.interface, () =>
            roleName === "manufacturer"
              ? (contract as DeviceRegistry).MANUFACTURER_ROLE()
              : (contract as TelemetryAnchor).ANCHORER_ROLE(),
          );
          const receipt = await sendDecoded(contract.interface, () =>
            verb === "grant" ? contract.grantRole(role, account) : contract.revokeRole(role, account),
          );
          const has = await contract.hasRole(role, account);
          ctx.out.result({ role: roleName, account, granted: has, transactionHash: receipt.hash }, [
            `${account} ${has ? "has" : "does not have"} the ${roleName} role`,
          ]);
        }),
      );
  }
  return roles;
}
