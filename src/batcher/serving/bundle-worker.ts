/** Worker thread body of {@link BundleServer}: builds bundles and dumps from its own read of the store. */
import { parentPort, workerData } from "node:worker_threads";
import { initKeccak } from "../../merkle";
import { batchCache, receiveContext, runBundleJob } from "./bundles";
import type { BundleJob } from "./bundles";
import { openStore } from "../storage";
import { lowerThreadPriority } from "../support";

/** Bundle requests come after ingest: the thread yields the CPU to it. */
const BUNDLE_THREAD_NICE = 10;

async function run(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("bundle-worker runs in a worker thread");
  lowerThreadPriority(BUNDLE_THREAD_NICE);
  const { database, context: posted } = workerData as {
    database: string;
    context: Parameters<typeof receiveContext>[0];
  };
  const context = receiveContext(posted);
  await initKeccak();
  const store = await openStore(database, { poolSize: 2 });
  const load = batchCache(store, 4);
  port.on("message", ({ id, job }: { id: number; job: BundleJob }) => {
    runBundleJob(store, context, load, job).then(
      (text) => port.postMessage({ id, text }),
      (error: { code?: string; message: string }) =>
        port.postMessage({ id, error: { code: error.code ?? "INTERNAL", message: error.message } }),
    );
  });
  port.postMessage({ ready: true });
}

void run();
