/**
 * Linux /proc readers for the benchmark: peak memory (VmHWM) and CPU time of processes, the
 * CPU time of a whole PostgreSQL server, and system-wide CPU use. Everything degrades to
 * `undefined` where /proc is missing (macOS), so the benchmark still runs and says "n/a".
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let clockTicks: number | undefined;
/** Kernel clock ticks per second (USER_HZ), for the utime/stime fields of /proc/<pid>/stat. */
export function ticksPerSecond(): number {
	if (clockTicks === undefined) {
		try {
			clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
		} catch {
			clockTicks = 100;
		}
	}
	return clockTicks;
}

function readText(file: string): string | undefined {
	try {
		return readFileSync(file, 'utf8');
	} catch {
		return undefined;
	}
}

/** A field of /proc/<pid>/status in KiB (VmHWM, VmRSS), or undefined. */
export function statusKiB(pid: number | 'self', field: 'VmHWM' | 'VmRSS' | 'VmPeak'): number | undefined {
	const text = readText(`/proc/${pid}/status`);
	const match = text && new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
	return match ? Number(match[1]) : undefined;
}

interface ProcStat {
	pid: number;
	comm: string;
	/** R, S, D, Z (zombie: exited, not yet reaped by its parent)… */
	state: string;
	ppid: number;
	/** utime + stime, seconds. */
	cpu: number;
	/** cutime + cstime: CPU of children this process has waited for, seconds. */
	childrenCpu: number;
}

/** Parses /proc/<pid>/stat (comm may hold spaces and parentheses: split after the last ')'). */
export function procStat(pid: number): ProcStat | undefined {
	const text = readText(`/proc/${pid}/stat`);
	if (!text) return undefined;
	const open = text.indexOf('(');
	const close = text.lastIndexOf(')');
	const rest = text.slice(close + 2).split(' ');
	// rest[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
	const hz = ticksPerSecond();
	return {
		pid,
		comm: text.slice(open + 1, close),
		state: rest[0],
		ppid: Number(rest[1]),
		cpu: (Number(rest[11]) + Number(rest[12])) / hz,
		childrenCpu: (Number(rest[13]) + Number(rest[14])) / hz,
	};
}

/** Direct children of `parent` (scans /proc; there is no portable children file). */
export function childrenOf(parent: number): ProcStat[] {
	if (!existsSync('/proc')) return [];
	const out: ProcStat[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		const stat = procStat(Number(entry));
		if (stat && stat.ppid === parent) out.push(stat);
	}
	return out;
}

/**
 * Watches the children of `parent` whose command name matches `name` (e.g. pg_dump), keeping
 * the highest VmHWM and the last CPU time seen per child. VmHWM is itself a high-water mark,
 * so polling only misses growth after the last poll (pg_dump allocates at start, while it
 * reads the catalog). Children are looked for until one is found, then only it is read.
 */
export class ChildWatcher {
	private readonly seen = new Map<number, { comm: string; hwmKiB: number; cpu: number }>();
	private readonly timer: NodeJS.Timeout;

	constructor(
		private readonly parent: number,
		private readonly name: RegExp,
		intervalMs = 200,
	) {
		this.timer = setInterval(() => this.poll(), intervalMs);
		this.timer.unref();
	}

	poll(): void {
		const live = [...this.seen.keys()].filter((pid) => existsSync(`/proc/${pid}`));
		const candidates = live.length
			? live.map((pid) => procStat(pid)).filter((s): s is ProcStat => !!s)
			: childrenOf(this.parent);
		for (const stat of candidates) {
			if (!this.name.test(stat.comm) || stat.ppid !== this.parent) continue;
			const hwm = statusKiB(stat.pid, 'VmHWM');
			if (hwm === undefined) continue; // exited (zombie) between the two reads
			const prev = this.seen.get(stat.pid);
			this.seen.set(stat.pid, {
				comm: stat.comm,
				hwmKiB: Math.max(prev?.hwmKiB ?? 0, hwm),
				cpu: Math.max(prev?.cpu ?? 0, stat.cpu),
			});
		}
	}

	/** Stops polling; the peak over all matching children and their summed CPU seconds. */
	stop(): { hwmKiB?: number; cpuSeconds?: number; pids: number[] } {
		clearInterval(this.timer);
		const values = [...this.seen.values()];
		if (!values.length) return { pids: [] };
		return {
			hwmKiB: Math.max(...values.map((v) => v.hwmKiB)),
			cpuSeconds: values.reduce((s, v) => s + v.cpu, 0),
			pids: [...this.seen.keys()],
		};
	}
}

/**
 * CPU seconds a PostgreSQL server has used so far: the postmaster's own, what it has reaped
 * from exited backends (cutime/cstime), and its live children's. A difference of two readings
 * is the server-side CPU of whatever ran in between (COPY for pg_dump, the inventory's scans).
 */
export function serverCpuSeconds(dataDir: string): number | undefined {
	const postmaster = postmasterPid(dataDir);
	const self = postmaster === undefined ? undefined : procStat(postmaster);
	if (postmaster === undefined || !self) return undefined;
	let total = self.cpu + self.childrenCpu;
	for (const child of childrenOf(postmaster)) total += child.cpu + child.childrenCpu;
	return total;
}

function postmasterPid(dataDir: string): number | undefined {
	const pidText = readText(join(dataDir, 'postmaster.pid'));
	const pid = pidText ? Number(pidText.split('\n')[0]) : NaN;
	return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Waits (up to `timeoutMs`) until the server has no client backend left, exited or not: a
 * backend's CPU moves into the postmaster's cutime only once the postmaster has reaped it, and
 * an exiting or zombie backend can show no CPU at all, so a reading taken right after a client
 * disconnects can miss that backend's whole CPU time.
 */
export async function waitForClientBackendsToExit(dataDir: string, timeoutMs = 5000): Promise<void> {
	const postmaster = postmasterPid(dataDir);
	if (postmaster === undefined) return;
	// "postgres: <user> <database> <host>(<port>) <state>"; auxiliary processes have no "(port)".
	const isClient = (pid: number) =>
		/^postgres: \S+ \S+ [^ ]+\(\d+\)/.test(readText(`/proc/${pid}/cmdline`)?.replace(/\0/g, ' ') ?? '');
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const pending = childrenOf(postmaster).filter((c) => c.state === 'Z' || isClient(c.pid));
		if (!pending.length) return;
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function systemCpu(): { busy: number; total: number } | undefined {
	const text = readText('/proc/stat');
	const line = text?.split('\n').find((l) => l.startsWith('cpu '));
	if (!line) return undefined;
	const v = line.trim().split(/\s+/).slice(1).map(Number);
	const total = v.slice(0, 8).reduce((s, x) => s + x, 0); // user nice system idle iowait irq softirq steal
	const idle = v[3] + v[4];
	const hz = ticksPerSecond();
	return { busy: (total - idle) / hz, total: total / hz };
}
