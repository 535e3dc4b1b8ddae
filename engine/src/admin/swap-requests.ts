import { deploy, type DeployOutcome } from "../deploy/deploy-writer.js";
import { ModhostError } from "../errors/modhost-error.js";
import type { SwapReport } from "../model/swap-report.js";
import type { RequestContext, RequestHandlerTable } from "./request-handlers.js";

/**
 * Swap requests: reload, rollback (to the previous or a named version), approve, deploy, and the
 * versions they produce. Deploys run one at a time from staging to the host's answer (see
 * deploy-writer), so that a refused deploy can put back exactly the folder it replaced; a deployed
 * version held for approval is not left in the folder either: its files wait here until approved.
 */
export const SWAP_REQUESTS: Pick<RequestHandlerTable, "reload" | "rollback" | "approve" | "deploy" | "versions"> = {
  reload: async (request, { host }) => noteBy(await host.reload(request.mod), request.by, host),
  rollback: async (request, { host }) => noteBy(await host.rollback(request.mod, request.to !== undefined ? { to: request.to } : {}), request.by, host),
  approve: (request, context) => approve(request.mod, request.by, context),
  deploy: (request, context) => (request.package !== undefined ? deployPackage(request.package, request.by, context) : deployFiles(request.files, request.by, context)),
  versions: async (request, { host }) => ({ versions: host.versions(request.mod) }),
};

function modsDirOf(context: RequestContext): string {
  if (context.modsDir === undefined) throw new ModhostError("E_DEPLOY_REFUSED", "this server does not accept deploys (it was started without a modsDir for them)");
  return context.modsDir;
}

async function deployFiles(files: Record<string, string>, by: string | undefined, context: RequestContext): Promise<SwapReport> {
  const modsDir = modsDirOf(context);
  const { host, held } = context;
  const outcome = await context.writes.run("deploy", () => deploy(modsDir, files, (dir) => host.load(dir), {}, { keepHeld: false }));
  if (outcome.report.ok) await host.noteDeployed(outcome.name);
  if (outcome.report.error?.code === "E_APPROVAL_REQUIRED") {
    const pending = host.mods().find((m) => m.name === outcome.name)?.pending;
    if (pending !== undefined) {
      held.hold(outcome.name, pending.hash, files);
      if (by !== undefined) host.noteVersionBy(outcome.name, pending.hash, by);
    }
  }
  return describeOutcome(noteBy(outcome.report, by, host), outcome);
}

/** A packed tarball: verified by the host against its trusted keys, then deployed the same way (one deploy at a time). */
async function deployPackage(base64: string, by: string | undefined, context: RequestContext): Promise<SwapReport> {
  modsDirOf(context);
  const report = await context.writes.run("deploy", () => context.host.installPackage(Buffer.from(base64, "base64")));
  return noteBy(report, by, context.host);
}

/**
 * Applies the held version. When it came by a deploy, its files are written into the mod's folder
 * at the same time (staged and swapped in as a deploy is, and swapped back if the approval fails).
 */
async function approve(mod: string, by: string | undefined, context: RequestContext): Promise<SwapReport> {
  const { host, held } = context;
  const pending = host.mods().find((m) => m.name === mod)?.pending;
  const files = held.take(mod, pending?.hash);
  if (files === undefined || context.modsDir === undefined) return noteBy(await host.approve(mod), by, host);
  const modsDir = context.modsDir;
  const outcome = await context.writes.run("deploy", () => deploy(modsDir, files, () => host.approve(mod), {}, { keepHeld: false }));
  if (outcome.report.ok) await host.noteDeployed(mod);
  return noteBy(outcome.report, by, host);
}

/** Notes who asked for the version a successful swap made live (the host keeps it with the version history). */
function noteBy(report: SwapReport, by: string | undefined, host: RequestContext["host"]): SwapReport {
  if (report.ok && by !== undefined) {
    const live = host.mods().find((m) => m.name === report.mod);
    if (live !== undefined) host.noteVersionBy(report.mod, live.hash, by);
  }
  return report;
}

/** The deploy's report, its error saying what became of the deployed files. */
function describeOutcome(report: SwapReport, outcome: DeployOutcome): SwapReport {
  if (report.error === undefined) return report;
  const note =
    report.error.code === "E_APPROVAL_REQUIRED"
      ? `held for approval: the mod's folder keeps the live version's files; modhost approve ${outcome.name} swaps the held version in and writes its files`
      : outcome.restored
        ? "the deploy was undone: the mod's folder holds its previous files again"
        : undefined;
  return note === undefined ? report : { ...report, error: { ...report.error, message: `${report.error.message} (${note})` } };
}
