/**
 * A process the proof can kill, pause and start again: a Holdfast server or a store. It
 * runs in a process group of its own, because what is started is often a launcher (npm,
 * runuser, a shell script) whose children do the work; signals go to the whole group.
 * Each start uses the same command, env and so port, as a supervisor's restart would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { groupMembers, stopProcessGroup } from "../../local/process-group.ts";

export interface ProcessSpec {
  /** For fault names and errors: "server", "redis"… */
  name: string;
  command: string;
  args?: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Whether it serves yet; polled after each start. */
  ready(): Promise<boolean>;
  readyTimeoutMs?: number;
}

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private output = "";
  /** The last run's processes, killed but perhaps not yet reaped (see start()). */
  private killed: number[] = [];

  constructor(private readonly spec: ProcessSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** The process group (the first process's pid), while it runs. */
  get pgid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts it and resolves once `ready()` says it serves. */
  async start(): Promise<void> {
    if (this.running()) throw new Error(`${this.name} is already running`);
    await this.reaped();
    this.output = "";
    const child = spawn(this.spec.command, this.spec.args ?? [], {
      detached: true,
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.on("error", (error) => {
      this.output += `\n${error.message}`;
    });
    // Read, or a chatty process blocks on a full pipe; the tail says why a start failed.
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const deadline = Date.now() + (this.spec.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        throw new Error(`${this.name} exited while starting:\n${this.output}`);
      }
      if (await this.spec.ready().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.stop();
    throw new Error(
      `${this.name} did not become ready within ${this.spec.readyTimeoutMs ?? 30_000} ms:\n${this.output}`,
    );
  }

  /** SIGKILL to the group, as a crash: resolves once every member is gone. */
  async kill(): Promise<void> {
    const pgid = this.pgid;
    if (pgid === undefined) return;
    this.killed = groupMembers(pgid);
    this.signal("SIGKILL");
    await this.gone(pgid);
  }

  pause(): void {
    this.signal("SIGSTOP");
  }

  resume(): void {
    this.signal("SIGCONT");
  }

  /** SIGCONT (a stopped process ignores SIGTERM), SIGTERM, SIGKILL after a grace: for cleanup. */
  async stop(graceMs = 3000): Promise<void> {
    const pgid = this.pgid;
    if (pgid === undefined) return;
    this.killed = groupMembers(pgid);
    this.resume();
    await stopProcessGroup(pgid, graceMs);
    await this.gone(pgid);
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.pgid === undefined) return;
    try {
      process.kill(-this.pgid, signal);
    } catch {
      // the group is gone already
    }
  }

  /** Waits until no process of the group runs (zombies aside) and the first one is reaped. */
  private async gone(pgid: number): Promise<void> {
    const child = this.child;
    const deadline = Date.now() + 10_000;
    const waiting = () => groupMembers(pgid).length > 0 || (child?.exitCode === null && child.signalCode === null);
    while (Date.now() < deadline && waiting()) await new Promise((resolve) => setTimeout(resolve, 20));
    if (groupMembers(pgid).length > 0)
      throw new Error(`${this.name}: process group ${pgid} still has members after SIGKILL`);
    this.child = undefined;
  }

  /**
   * Waits (10 s at most) until the killed processes are reaped. A zombie still answers
   * kill(pid, 0), and a restarted Postgres takes its old postmaster's zombie for a live
   * postmaster and refuses to start; orphans are reaped by init, here up to ~2 s later.
   * Here rather than in kill(), so that the fault is in place as soon as they are dead.
   */
  private async reaped(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && this.killed.some((pid) => existsSync(`/proc/${pid}`))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.killed = [];
  }
}
