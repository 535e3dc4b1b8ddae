import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { messageOf } from "../errors/modhost-error.js";
import { readDeployFiles } from "../deploy/deploy-files.js";
import type { SwapReport } from "../model/swap-report.js";
import { parseCommandArgs, usageError } from "./cli-args.js";
import { cliOutput } from "./cli-output.js";
import { exitOf } from "./exit-codes.js";
import { withServer } from "./remote-commands.js";
import { formatReport } from "./report-format.js";
import { whoAmI } from "./server-connection.js";
import { SERVER_FLAGS } from "./server-connection.js";

/**
 * `modhost deploy <modDir | package.tgz>`: sends the mod's mod.json and sources to the server, which writes them
 * into the mod's folder and reloads it through the same pipeline as a local save. Prints the swap
 * report (with a code frame from the local files when refused); exit 0 if it went through, 4 if it
 * is held for approval (its files are kept aside until `modhost approve`), 1 if refused.
 */
export async function deployCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("deploy", args, SERVER_FLAGS, { min: 1, max: 1, names: "the mod folder to deploy" });
  const out = cliOutput(values.json === true);
  const dir = positionals[0] as string;
  if (dir.endsWith(".tgz")) {
    // A package packed (and signed) by `modhost pack`: the server verifies it against its trusted keys.
    const tarball = await readFile(dir).catch((err: unknown) => {
      throw usageError(`modhost deploy: ${dir}: ${messageOf(err)}`);
    });
    const report: SwapReport = await withServer("deploy", values, (client) => client.request("deploy", { package: tarball.toString("base64"), by: whoAmI() }));
    if (out.json) out.data(report);
    else out.line(formatReport(report, out.style));
    return exitOf(report);
  }
  const files = await readDeployFiles(dir);
  const report: SwapReport = await withServer("deploy", values, (client) => client.request("deploy", { files, by: whoAmI() }));
  if (out.json) out.data(report);
  else out.line(formatReport(report, out.style, (file) => files[file], `${join(dir, ".")}/`.replace(/^\.\//, "")));
  return exitOf(report);
}
