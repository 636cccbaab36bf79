/**
 * `iotrail devices mqtt-passwords`: a password per device (and one for the batcher) for an external MQTT
 * broker such as Mosquitto, which cannot check the embedded broker's signed logins. The file is
 * `username,password` lines: the username is the device's lower-case address (the shipped ACL's `%u`), and
 * `simulate --mqtt-passwords` and Mosquitto's own `mosquitto_passwd -U` read it.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import { DeviceKey } from "../device";
import { InvalidInputError } from "../errors";
import { readDeviceRows } from "./device-args";
import { refuseUnignoredInGit } from "./files";
import { run } from "./run";

export const BATCHER_MQTT_USER = "iotrail-batcher";

export function mqttPasswordsCommand(): Command {
  return new Command("mqtt-passwords")
    .description("a random password per device and for the batcher, for an external broker (mosquitto_passwd -U)")
    .argument("<devices.csv>", "the devices (as for register-batch)")
    .requiredOption("-o, --out <file>", "the passwords file to write (username,password; mode 0600)")
    .option("--batcher-user <name>", "the batcher's username (add more with commas: shards)", BATCHER_MQTT_USER)
    .option("--force", "write inside a git work tree even where git would not ignore the file")
    .action(
      run(async (ctx, file: string, opts: { out: string; batcherUser: string; force?: boolean }) => {
        if (opts.force !== true) refuseUnignoredInGit(opts.out, "broker passwords");
        const rows = await readDeviceRows(file);
        const keys = await Promise.all(rows.map((row) => DeviceKey.load(resolve(dirname(file), row.keyFile))));
        const users = [
          ...opts.batcherUser
            .split(",")
            .map((u) => u.trim())
            .filter((u) => u !== ""),
          ...keys.map((k) => k.address.toLowerCase()),
        ];
        // 24 random bytes, base64url: no character that a CSV, a URL's userinfo or a shell would mangle.
        const lines = users.map((user) => `${user},${randomBytes(24).toString("base64url")}`);
        await writeFile(opts.out, `username,password\n${lines.join("\n")}\n`, { mode: 0o600, flag: "wx" });
        ctx.out.result({ file: resolve(opts.out), users: users.length }, [
          `${users.length} passwords (${keys.length} devices and ${users.length - keys.length} batcher) in ${opts.out}`,
        ]);
      }),
    );
}

/** Reads a passwords file of `mqtt-passwords`: username → password. */
export async function readMqttPasswords(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new InvalidInputError(`no passwords file at ${file}`, { cause });
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  if (lines[0]?.trim() !== "username,password") {
    throw new InvalidInputError(
      `${file}: expected a first line "username,password" (a file of devices mqtt-passwords)`,
    );
  }
  const passwords = new Map<string, string>();
  lines.slice(1).forEach((line, i) => {
    const comma = line.indexOf(",");
    if (comma <= 0 || comma === line.length - 1) {
      throw new InvalidInputError(`${file}, line ${i + 2}: expected username,password`);
    }
    passwords.set(line.slice(0, comma).trim().toLowerCase(), line.slice(comma + 1).trim());
  });
  return passwords;
}
