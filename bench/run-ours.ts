/**
 * One measured run of our pipeline, in its own Node process so its peak memory is its own.
 * Started by pg-dump.bench.ts as `node --import tsx bench/run-ours.ts`; the request (which
 * holds the password) comes on stdin, never argv. Prints one `BENCH_RESULT {json}` line.
 *
 * Modes:
 * - `ours`: makeBackup(new PostgresSource(), …): pre-flight, pg_dump in an exported snapshot
 *   streamed through the SHA-256 stage, the inventory in parallel, reconcile, manifest.
 * - `pipe`: only pg_dump -Fc streamed through the same hashing stage (core/pipeline/hashing)
 *   into a file: no snapshot, no inventory, no pre-flight. Isolates the streaming cost.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeBackup } from '../core/backup';
import { manifestOf } from '../core/backup-set/manifest';
import type { Logger } from '../core/logger';
import { writeHashed } from '../core/pipeline/hashing';
import { childEnvironment, type PostgresConnection } from '../core/sources/postgres/connection';
import { PostgresSource, defaultDumpOptions, type PostgresDumpOptions } from '../core/sources/postgres/postgres-source';
import { ChildWatcher, serverCpuSeconds, statusKiB, systemCpu, waitForClientBackendsToExit } from './proc';

export interface OursRequest {
	mode: 'ours' | 'pipe';
	connection: PostgresConnection;
	staging: string;
	environment: string;
	/** Overrides of defaultDumpOptions (e.g. fingerprintRows: 0). */
	options?: Partial<PostgresDumpOptions>;
	pollMs?: number;
	/** The server's data folder: its CPU time is read around the timed window (not a secret). */
	dataDir?: string;
}

export interface OursResult {
	ok: true;
	mode: OursRequest['mode'];
	/** Wall time of makeBackup (or of the pipe), ms. */
	ms: number;
	/** Set folder (ours) or file (pipe). */
	folder?: string;
	file: string;
	bytes: number;
	sha256: string;
	/** Milliseconds from start to each logged milestone (pre-flight passed, pg_dump finished). */
	phases: Record<string, number>;
	nodeHwmBeforeKiB?: number;
	nodeHwmKiB?: number;
	nodeCpuSeconds: number;
	pgDumpHwmKiB?: number;
	pgDumpCpuSeconds?: number;
	tables?: number;
	exactCounts?: number;
	/** Server CPU seconds (all backends) and machine busy/total CPU seconds in the timed window. */
	serverCpuSeconds?: number;
	machineBusySeconds?: number;
	machineTotalSeconds?: number;
	/** pipe mode: reads from pg_dump's stdout and their mean size. */
	chunks?: number;
	meanChunkBytes?: number;
}

async function readStdin(): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString('utf8');
}

async function runPipe(
	req: OursRequest,
): Promise<{ file: string; bytes: number; sha256: string; chunks: number; meanChunkBytes: number }> {
	const pgDump = join(req.connection.binFolder ?? '', 'pg_dump');
	const { env, dispose } = await childEnvironment(req.connection);
	const file = join(req.staging, `pipe-${process.pid}.dump`);
	try {
		const child = spawn(pgDump, ['--format=custom', '--no-password'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
		const exited = new Promise<number | null>((resolve, reject) => {
			child.on('error', reject);
			child.on('close', resolve);
		});
		let chunks = 0;
		child.stdout.on('data', () => chunks++); // observes only: pipeline() reads the same events
		const { bytes, sha256 } = await writeHashed(child.stdout, file);
		const code = await exited;
		if (code !== 0) throw new Error(`pg_dump exited with ${code}`);
		return { file, bytes, sha256, chunks, meanChunkBytes: Math.round(bytes / Math.max(1, chunks)) };
	} finally {
		await dispose();
	}
}

async function main(): Promise<void> {
	const req = JSON.parse(await readStdin()) as OursRequest;
	const nodeHwmBeforeKiB = statusKiB('self', 'VmHWM');
	const watcher = new ChildWatcher(process.pid, /^pg_dump$/, req.pollMs ?? 200);
	const phases: Record<string, number> = {};
	if (req.dataDir) await waitForClientBackendsToExit(req.dataDir);
	const server0 = req.dataDir ? serverCpuSeconds(req.dataDir) : undefined;
	const machine0 = systemCpu();
	const cpu0 = process.cpuUsage();
	const t0 = performance.now();
	const mark = (name: string) => (phases[name] ??= Math.round(performance.now() - t0));
	const log: Logger = {
		debug() {},
		info(message) {
			if (message.startsWith('Pre-flight passed')) mark('preflight');
			if (/^pg_dump .*: finished/.test(message)) mark('pgDumpExited');
			if (process.env.BENCH_VERBOSE) console.error(`[ours +${Math.round(performance.now() - t0)}ms] ${message}`);
		},
		warn(message) {
			console.error(`[ours warn] ${message}`);
		},
	};
	let result: Pick<
		OursResult,
		'ok' | 'mode' | 'folder' | 'file' | 'bytes' | 'sha256' | 'tables' | 'exactCounts' | 'chunks' | 'meanChunkBytes'
	>;
	if (req.mode === 'pipe') {
		result = { ok: true, mode: 'pipe', ...(await runPipe(req)) };
	} else {
		const backup = await makeBackup(new PostgresSource(), {
			connection: req.connection,
			options: { ...defaultDumpOptions, ...req.options },
			environment: req.environment,
			type: 'full',
			stagingFolder: req.staging,
			log,
		});
		const artifact = backup.manifest.artifacts.find((a) => a.kind === 'pg_dump-custom');
		if (!artifact) throw new Error('no pg_dump-custom artifact in the manifest');
		const inventory = manifestOf(backup.manifest, 'postgres').inventory;
		result = {
			ok: true,
			mode: 'ours',
			folder: backup.folder,
			file: join(backup.folder, artifact.path),
			bytes: artifact.bytes,
			sha256: artifact.sha256,
			tables: inventory.tables.length,
			exactCounts: inventory.tables.filter((t) => !t.rowsEstimated).length,
		};
	}
	const ms = performance.now() - t0;
	const cpu = process.cpuUsage(cpu0);
	// Our backends (pg_dump's, the inventory's) are reaped: their CPU is in the reading.
	if (req.dataDir) await waitForClientBackendsToExit(req.dataDir);
	const server1 = req.dataDir ? serverCpuSeconds(req.dataDir) : undefined;
	const machine1 = systemCpu();
	watcher.poll();
	const child = watcher.stop();
	const out: OursResult = {
		...result,
		ms,
		phases,
		nodeHwmBeforeKiB,
		nodeHwmKiB: statusKiB('self', 'VmHWM'),
		nodeCpuSeconds: (cpu.user + cpu.system) / 1e6,
		pgDumpHwmKiB: child.hwmKiB,
		pgDumpCpuSeconds: child.cpuSeconds,
		serverCpuSeconds: server0 !== undefined && server1 !== undefined ? server1 - server0 : undefined,
		machineBusySeconds: machine0 && machine1 ? machine1.busy - machine0.busy : undefined,
		machineTotalSeconds: machine0 && machine1 ? machine1.total - machine0.total : undefined,
	};
	process.stdout.write(`BENCH_RESULT ${JSON.stringify(out)}\n`);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
