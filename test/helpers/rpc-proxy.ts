import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A loopback JSON-RPC proxy that breaks on demand:
 * - `down`: not listening (connections are refused);
 * - `timeout`: takes requests and never answers;
 * - `5xx`: answers 502 Bad Gateway;
 * - `reset`: drops the connection after reading the request.
 * `intercept` can answer a JSON-RPC method itself (after forwarding it, or instead of it); `gate` can hold a
 * request until the promise it returns settles.
 */
export type ProxyMode = "ok" | "down" | "timeout" | "5xx" | "reset";

export interface Interception {
  /** Forward the request to the node first (its answer is then discarded). */
  forward: boolean;
  error: { code: number; message: string };
}

export class RpcProxy {
  mode: ProxyMode = "ok";
  intercept: ((method: string, params: unknown[]) => Interception | undefined) | undefined;
  gate: ((method: string, params: unknown[]) => Promise<void> | undefined) | undefined;
  readonly seen: string[] = [];
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private constructor(private readonly target: string) {
    this.server = this.create();
  }

  static async start(target: string): Promise<RpcProxy> {
    const proxy = new RpcProxy(target);
    await proxy.listen();
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private create(): Server {
    const server = createServer((request, response) => void this.handle(request, response));
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    return server;
  }

  private listen(): Promise<void> {
    return new Promise((resolve) =>
      this.server.listen(this.port, "127.0.0.1", () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      }),
    );
  }

  /** Switches the mode; `down` closes the listening socket and every connection, leaving `down` reopens it. */
  async set(mode: ProxyMode): Promise<void> {
    const wasDown = this.mode === "down";
    this.mode = mode;
    if (mode === "down" && !wasDown) await this.shut();
    if (mode !== "down" && wasDown) {
      this.server = this.create();
      await this.listen();
    }
  }

  private shut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const call = JSON.parse(body) as { id: unknown; method: string; params: unknown[] };
    this.seen.push(call.method);
    if (this.mode === "timeout") return; // never answered
    if (this.mode === "reset") {
      request.socket.destroy();
      return;
    }
    if (this.mode === "5xx") {
      response.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
      return;
    }
    await this.gate?.(call.method, call.params);
    const interception = this.intercept?.(call.method, call.params);
    if (interception !== undefined) {
      if (interception.forward) await this.forward(body);
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ jsonrpc: "2.0", id: call.id, error: interception.error }));
      return;
    }
    const answer = await this.forward(body);
    response.writeHead(200, { "content-type": "application/json" }).end(answer);
  }

  private async forward(body: string): Promise<string> {
    const answer = await fetch(this.target, { method: "POST", headers: { "content-type": "application/json" }, body });
    return answer.text();
  }

  async close(): Promise<void> {
    if (this.mode !== "down") await this.shut();
  }
}
